/** What `stable-alignment doctor` reports about the training engine. */
import { type BlasKind, type BlasPreference, createBlas } from "./blas.js";
import { wasmKernelsAvailable } from "./tensor-memory.js";

/** The backends a training run would use on this machine. */
export interface EngineDescription {
  blasKind: BlasKind;
  /** Library, path, build and threads, or why the TypeScript fallback is active. */
  blas: string;
  blasThreads: number;
  /** "webassembly-simd" when the element-wise kernels can run, else "typescript". */
  elementwise: "webassembly-simd" | "typescript";
}

/** Probes the BLAS backend (as createBlas would pick it) and the SIMD kernels. */
export function describeEngine(
  options: { backend?: BlasPreference; libraryPaths?: readonly string[]; threads?: number } = {},
): EngineDescription {
  const blas = createBlas(options);
  return {
    blasKind: blas.kind,
    blas: blas.description,
    blasThreads: blas.threads,
    elementwise: wasmKernelsAvailable() ? "webassembly-simd" : "typescript",
  };
}
