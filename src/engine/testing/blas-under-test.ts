/**
 * Which BLAS the engine tests run on. STABLE_ALIGNMENT_TEST_BLAS is the one environment variable the
 * engine's test support reads (the engine itself never reads the environment), so the same tests can
 * be run once on each kind of machine without changing the system's BLAS:
 * - "auto" (default; also when unset or empty): whatever createBlas finds, as on a user's machine;
 * - "reference": only the netlib reference BLAS at its Debian path (`apt-get install libblas3`); the
 *   tests fail loudly when it does not load;
 * - "none": no native library is tried; the TypeScript BLAS, as on a machine without any BLAS.
 */
import { ConfigError } from "../../spec/errors.js";
import type { BlasKind } from "../blas.js";

/** The environment variable that picks the BLAS for the engine tests. */
export const testBlasVariable = "STABLE_ALIGNMENT_TEST_BLAS";

/** The values STABLE_ALIGNMENT_TEST_BLAS accepts. */
export type TestBlasSetting = "auto" | "reference" | "none";

/** The BLAS the tests are asked to run on. */
export interface BlasUnderTest {
  setting: TestBlasSetting;
  /** The `libraryPaths` option for createBlas/describeEngine: undefined (usual locations), the reference BLAS, or []. */
  libraryPaths: readonly string[] | undefined;
  /** The kind createBlas must return under this setting; undefined for "auto" (it depends on the machine). */
  expectedKind: BlasKind | undefined;
}

const debianMultiarch: Record<string, string> = {
  x64: "x86_64-linux-gnu",
  arm64: "aarch64-linux-gnu",
  ppc64: "powerpc64le-linux-gnu",
  s390x: "s390x-linux-gnu",
  ia32: "i386-linux-gnu",
  arm: "arm-linux-gnueabihf",
};

/**
 * Where Debian's `libblas3` puts the netlib reference BLAS (with its CBLAS) for the CPU architecture
 * `arch` (default `process.arch`), outside the libblas.so.3 alternative that OpenBLAS usually takes.
 */
export function referenceBlasPaths({ arch = process.arch }: { arch?: string } = {}): string[] {
  const triplet = debianMultiarch[arch] ?? `${arch}-linux-gnu`;
  return [`/usr/lib/${triplet}/blas/libblas.so.3`];
}

/**
 * Reads STABLE_ALIGNMENT_TEST_BLAS from `environment` (default `process.env`); throws ConfigError
 * naming the variable for any other value than auto, reference or none.
 */
export function blasUnderTest({
  environment = process.env,
}: {
  environment?: Readonly<Record<string, string | undefined>>;
} = {}): BlasUnderTest {
  const value = environment[testBlasVariable] ?? "";
  switch (value) {
    case "":
    case "auto":
      return { setting: "auto", libraryPaths: undefined, expectedKind: undefined };
    case "reference":
      return { setting: "reference", libraryPaths: referenceBlasPaths(), expectedKind: "reference" };
    case "none":
      return { setting: "none", libraryPaths: [], expectedKind: "typescript" };
    default:
      throw new ConfigError(`${testBlasVariable}=${value} is not one of auto, reference, none`, {
        field: testBlasVariable,
      });
  }
}
