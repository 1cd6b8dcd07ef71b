/** The BLAS backends every op test runs on: the native library (required) and pure TypeScript. */
import { type Blas, createBlas } from "../blas.js";

/**
 * Both backends, native first. One native thread: test files run in parallel on few cores. Throws
 * BlasUnavailableError when no native library loads, so a missing OpenBLAS fails loudly instead of
 * silently testing only one backend.
 */
export function testBackends(): Blas[] {
  return [createBlas({ backend: "native", threads: 1 }), createBlas({ backend: "typescript" })];
}
