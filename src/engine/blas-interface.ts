/**
 * The BLAS interface: what a matrix-multiply backend offers. Apart from blas.ts (which picks one) so
 * the backends import these types without importing the module that imports them.
 */

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

/** A matrix-multiply backend. Stateless apart from its thread setting; safe to share. */
export interface Blas {
  readonly kind: BlasKind;
  /** Human-readable: library, path, build configuration and threads (for `doctor`). */
  readonly description: string;
  /** Threads the library computes with (1 for the TypeScript backend). */
  readonly threads: number;
  matrixMultiply(options: MatrixMultiplyOptions): void;
}
