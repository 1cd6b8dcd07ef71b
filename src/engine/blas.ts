/**
 * BLAS backends: the one routine the engine needs, single-precision general matrix multiply on
 * row-major matrices. `createBlas` picks a native library (OpenBLAS, Apple Accelerate, or the system
 * BLAS) through koffi and falls back to a pure TypeScript implementation when none loads.
 */
import { availableParallelism } from "node:os";
import type { Blas } from "./blas-interface.js";
import { loadNativeBlas } from "./blas-native.js";
import { createTypeScriptBlas } from "./blas-typescript.js";
import { BlasUnavailableError } from "./engine-errors.js";

export type { Blas, BlasKind, MatrixMultiplyOptions } from "./blas-interface.js";

/**
 * The command that installs OpenBLAS on this platform (`platform` defaults to `process.platform`):
 * Homebrew on macOS, apt-get (Debian/Ubuntu) elsewhere.
 */
export function openBlasInstallCommand({ platform = process.platform }: { platform?: string } = {}): string {
  return platform === "darwin" ? "brew install openblas" : "apt-get install libopenblas0-pthread";
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
