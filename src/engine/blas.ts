/**
 * BLAS backends: the one routine the engine needs, single-precision general matrix multiply on
 * row-major matrices. `createBlas` picks a native library (OpenBLAS, Apple Accelerate, or the system
 * BLAS) through koffi and falls back to a pure TypeScript implementation when none loads.
 */
import { availableParallelism } from "node:os";
import { loadNativeBlas } from "./blas-native.js";
import { createTypeScriptBlas } from "./blas-typescript.js";
import { BlasUnavailableError } from "./engine-errors.js";

/**
 * C = alpha * op(A) * op(B) + beta * C on row-major matrices, where op(X) is X or its transpose.
 * op(A) is m x k, op(B) is k x n, C is m x n. Leading dimensions are row strides in elements, so a
 * block of a wider matrix (one attention head inside packed q/k/v) is addressed without copying.
 * With beta 0, C's previous contents are ignored (NaN in C does not propagate), as in BLAS.
 */
export interface MatrixMultiplyOptions {
  /** Use A transposed: A is stored k x m. Default false. */
  transposeA?: boolean;
  /** Use B transposed: B is stored n x k. Default false. */
  transposeB?: boolean;
  m: number;
  n: number;
  k: number;
  /** Default 1. */
  alpha?: number;
  a: Float32Array;
  /** Element offset of A's first element in `a`. Default 0. */
  aOffset?: number;
  lda: number;
  b: Float32Array;
  /** Element offset of B's first element in `b`. Default 0. */
  bOffset?: number;
  ldb: number;
  /** Default 0 (overwrite C); 1 accumulates into C. */
  beta?: number;
  c: Float32Array;
  /** Element offset of C's first element in `c`. Default 0. */
  cOffset?: number;
  ldc: number;
}

/**
 * Which implementation computes matrix products, told apart by the symbols the library exports:
 * - "openblas": OpenBLAS (exports `openblas_get_config`); multi-threaded, fast.
 * - "accelerate": Apple Accelerate (macOS).
 * - "reference": the netlib reference BLAS (Debian `libblas3`; exports the reference CBLAS globals
 *   `RowMajorStrg` and `CBLAS_CallFromC`): native but single-threaded and unblocked, so training runs
 *   up to 35x slower than on OpenBLAS (issue 9: 172 vs 6,104 tokens/s in bench train-throughput).
 * - "cblas": any other library exporting `cblas_sgemm` (BLIS, MKL, ATLAS, ...).
 * - "typescript": no native library; the pure TypeScript fallback.
 */
export type BlasKind = "openblas" | "accelerate" | "reference" | "cblas" | "typescript";

/**
 * The command that installs OpenBLAS on this platform (`platform` defaults to `process.platform`):
 * Homebrew on macOS, apt-get (Debian/Ubuntu) elsewhere.
 */
export function openBlasInstallCommand({ platform = process.platform }: { platform?: string } = {}): string {
  return platform === "darwin" ? "brew install openblas" : "apt-get install libopenblas0-pthread";
}

/** A matrix-multiply backend. Stateless apart from its thread setting; safe to share. */
export interface Blas {
  readonly kind: BlasKind;
  /** Human-readable: library, path, build configuration and threads (for `doctor`). */
  readonly description: string;
  /** Threads the library computes with (1 for the TypeScript backend). */
  readonly threads: number;
  matrixMultiply(options: MatrixMultiplyOptions): void;
}

/** Which backend `createBlas` may return. */
export type BlasPreference = "auto" | "native" | "typescript";

/**
 * Creates a BLAS backend.
 * - `backend`: "auto" (default) tries native libraries and falls back to TypeScript; "native" throws
 *   BlasUnavailableError when none loads; "typescript" never touches native code.
 * - `libraryPaths`: shared libraries exporting `cblas_sgemm` to try, in order, instead of the usual
 *   OpenBLAS (Linux, Windows, Homebrew), Accelerate (macOS) and system BLAS locations; an empty list
 *   tries none (the TypeScript fallback, or BlasUnavailableError with "native").
 * - `threads`: threads for the native library; default the machine's available parallelism. Keep
 *   BLAS threads plus any other compute threads of the process at or below the core count: on two
 *   cores, 2 BLAS threads with 2 busy workers ran 3x slower than 2 BLAS threads alone.
 */
export function createBlas(
  options: { backend?: BlasPreference; libraryPaths?: readonly string[]; threads?: number } = {},
): Blas {
  const { backend = "auto", libraryPaths, threads = availableParallelism() } = options;
  if (backend === "typescript") {
    return createTypeScriptBlas();
  }
  const loaded = loadNativeBlas({ libraryPaths, threads });
  if (loaded.blas !== undefined) {
    return loaded.blas;
  }
  if (backend === "native") {
    throw new BlasUnavailableError(
      `no native BLAS library could be loaded (install OpenBLAS: ${openBlasInstallCommand()}); tried: ${describeAttempts(loaded.attempts)}`,
      loaded.attempts,
    );
  }
  return createTypeScriptBlas({ note: `no native BLAS loaded: ${describeAttempts(loaded.attempts)}` });
}

function describeAttempts(attempts: readonly string[]): string {
  return attempts.length === 0 ? "no library paths to try" : attempts.join("; ");
}
