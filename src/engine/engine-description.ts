/**
 * What `stable-alignment doctor` and every training entry point report about the training engine:
 * which BLAS computes the matrix products, whether the SIMD kernels run, and a warning with the
 * install command when the BLAS makes training slow.
 */
import { type BlasKind, type BlasPreference, createBlas, openBlasInstallCommand } from "./blas.js";
import { maximumWasmMemoryBytes, wasmKernelsAvailable } from "./tensor-memory.js";

/** The backends a training run would use on this machine. */
export interface EngineDescription {
  blasKind: BlasKind;
  /** Library, path, build and threads, or why the TypeScript fallback is active. */
  blas: string;
  blasThreads: number;
  /** "webassembly-simd" when the element-wise kernels can run, else "typescript". */
  elementwise: "webassembly-simd" | "typescript";
  /** Which element-wise kernels run and how memory past 4 GiB reaches them, in words. */
  kernels: string;
  /** Why training is slow on this BLAS and the command that installs OpenBLAS; undefined when it is fast. */
  blasWarning: string | undefined;
}

/**
 * Probes the BLAS backend (as createBlas would pick it, with the same options) and the SIMD kernels.
 * `platform` (default `process.platform`) picks the install command named in the warning.
 */
export function describeEngine(
  options: { backend?: BlasPreference; libraryPaths?: readonly string[]; threads?: number; platform?: string } = {},
): EngineDescription {
  const { platform = process.platform, ...blasOptions } = options;
  const blas = createBlas(blasOptions);
  return {
    blasKind: blas.kind,
    blas: blas.description,
    blasThreads: blas.threads,
    elementwise: wasmKernelsAvailable() ? "webassembly-simd" : "typescript",
    kernels: describeKernels(wasmKernelsAvailable() ? "webassembly-simd" : "typescript"),
    blasWarning: blasWarning({ kind: blas.kind, platform }),
  };
}

/**
 * The warning for a BLAS that makes training slow (the reference BLAS, or none native), naming the
 * command that installs OpenBLAS on `platform` (default `process.platform`); undefined otherwise.
 */
export function blasWarning({
  kind,
  platform = process.platform,
}: {
  kind: BlasKind;
  platform?: string;
}): string | undefined {
  const install = `install OpenBLAS: ${openBlasInstallCommand({ platform })}`;
  if (kind === "reference") {
    return `the reference BLAS is single-threaded and unblocked, training runs up to 35x slower than on OpenBLAS; ${install}`;
  }
  if (kind === "typescript") {
    return `no native BLAS, matrix products run in TypeScript and training is much slower; ${install}`;
  }
  return undefined;
}

/** The element-wise kernels in words, as doctor and formatEngineLine print them. */
export function describeKernels(elementwise: EngineDescription["elementwise"]): string {
  return elementwise === "webassembly-simd"
    ? `WebAssembly SIMD kernels (one instance per shared memory of up to ${maximumWasmMemoryBytes / 2 ** 30} GiB, any model size)`
    : "TypeScript loops (WebAssembly SIMD unavailable, slower)";
}

/**
 * The line every training entry point prints first: the BLAS, the element-wise kernels, and the
 * BLAS warning when there is one.
 */
export function formatEngineLine(engine: EngineDescription): string {
  const line = `engine: BLAS ${engine.blas}; element-wise ops in ${describeKernels(engine.elementwise)}`;
  return engine.blasWarning === undefined ? line : `${line}. WARNING: ${engine.blasWarning}`;
}
