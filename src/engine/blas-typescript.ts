/**
 * Pure TypeScript matrix multiply: the fallback when no native BLAS loads, and the second backend every
 * op test runs on. Loops are ordered so the innermost one walks contiguous memory; sums of products
 * are taken in float64 registers where the loop order allows it.
 */
import type { Blas, MatrixMultiplyOptions } from "./blas-interface.js";
import { checkMatrixMultiply } from "./matrix-multiply-checks.js";

function scaleOutput(c: Float32Array, cOffset: number, m: number, n: number, ldc: number, beta: number): void {
  for (let row = 0; row < m; row++) {
    const start = cOffset + row * ldc;
    if (beta === 0) {
      c.fill(0, start, start + n);
    } else if (beta !== 1) {
      for (let column = start; column < start + n; column++) {
        c[column] = (c[column] as number) * beta;
      }
    }
  }
}

/** C[i, :] += alpha * sum_p A(i, p) * B[p, :], with A(i, p) read through the given strides. */
function accumulateRowsTimesB(
  call: MatrixMultiplyOptions,
  aRowStride: number,
  aColumnStride: number,
  alpha: number,
): void {
  const { m, n, k, a, b, c, ldb, ldc } = call;
  const aOffset = call.aOffset ?? 0;
  const bOffset = call.bOffset ?? 0;
  const cOffset = call.cOffset ?? 0;
  for (let row = 0; row < m; row++) {
    const cStart = cOffset + row * ldc;
    const aStart = aOffset + row * aRowStride;
    let p = 0;
    for (; p + 4 <= k; p += 4) {
      const a0 = alpha * (a[aStart + p * aColumnStride] as number);
      const a1 = alpha * (a[aStart + (p + 1) * aColumnStride] as number);
      const a2 = alpha * (a[aStart + (p + 2) * aColumnStride] as number);
      const a3 = alpha * (a[aStart + (p + 3) * aColumnStride] as number);
      const b0 = bOffset + p * ldb;
      const b1 = b0 + ldb;
      const b2 = b1 + ldb;
      const b3 = b2 + ldb;
      for (let column = 0; column < n; column++) {
        c[cStart + column] =
          (c[cStart + column] as number) +
          a0 * (b[b0 + column] as number) +
          a1 * (b[b1 + column] as number) +
          a2 * (b[b2 + column] as number) +
          a3 * (b[b3 + column] as number);
      }
    }
    for (; p < k; p++) {
      const value = alpha * (a[aStart + p * aColumnStride] as number);
      const bStart = bOffset + p * ldb;
      for (let column = 0; column < n; column++) {
        c[cStart + column] = (c[cStart + column] as number) + value * (b[bStart + column] as number);
      }
    }
  }
}

/** C[i, j] += alpha * dot(A(i, :), B(j, :)) for A not transposed and B transposed (both rows contiguous). */
function accumulateDotProducts(call: MatrixMultiplyOptions, alpha: number): void {
  const { m, n, k, a, b, c, lda, ldb, ldc } = call;
  const aOffset = call.aOffset ?? 0;
  const bOffset = call.bOffset ?? 0;
  const cOffset = call.cOffset ?? 0;
  for (let row = 0; row < m; row++) {
    const aStart = aOffset + row * lda;
    const cStart = cOffset + row * ldc;
    let column = 0;
    for (; column + 2 <= n; column += 2) {
      const b0 = bOffset + column * ldb;
      const b1 = b0 + ldb;
      let sum0 = 0;
      let sum1 = 0;
      for (let p = 0; p < k; p++) {
        const value = a[aStart + p] as number;
        sum0 += value * (b[b0 + p] as number);
        sum1 += value * (b[b1 + p] as number);
      }
      c[cStart + column] = (c[cStart + column] as number) + alpha * sum0;
      c[cStart + column + 1] = (c[cStart + column + 1] as number) + alpha * sum1;
    }
    for (; column < n; column++) {
      const bStart = bOffset + column * ldb;
      let sum = 0;
      for (let p = 0; p < k; p++) {
        sum += (a[aStart + p] as number) * (b[bStart + p] as number);
      }
      c[cStart + column] = (c[cStart + column] as number) + alpha * sum;
    }
  }
}

/** The general case (both transposed): C[i, j] += alpha * sum_p A[p, i] * B[j, p]. */
function accumulateBothTransposed(call: MatrixMultiplyOptions, alpha: number): void {
  const { m, n, k, a, b, c, lda, ldb, ldc } = call;
  const aOffset = call.aOffset ?? 0;
  const bOffset = call.bOffset ?? 0;
  const cOffset = call.cOffset ?? 0;
  for (let row = 0; row < m; row++) {
    for (let column = 0; column < n; column++) {
      let sum = 0;
      for (let p = 0; p < k; p++) {
        sum += (a[aOffset + p * lda + row] as number) * (b[bOffset + column * ldb + p] as number);
      }
      const index = cOffset + row * ldc + column;
      c[index] = (c[index] as number) + alpha * sum;
    }
  }
}

/** Creates the TypeScript backend. `note` is appended to its description (why no native library). */
export function createTypeScriptBlas(options: { note?: string } = {}): Blas {
  return {
    kind: "typescript",
    threads: 1,
    description: `pure TypeScript matrix multiply, 1 thread${options.note === undefined ? "" : ` (${options.note})`}`,
    matrixMultiply(call: MatrixMultiplyOptions): void {
      checkMatrixMultiply(call);
      const alpha = call.alpha ?? 1;
      scaleOutput(call.c, call.cOffset ?? 0, call.m, call.n, call.ldc, call.beta ?? 0);
      if (alpha === 0 || call.k === 0) {
        return;
      }
      const transposeA = call.transposeA === true;
      const transposeB = call.transposeB === true;
      if (!transposeB) {
        // A(i, p) sits at i * lda + p, or at p * lda + i when A is stored transposed.
        accumulateRowsTimesB(call, transposeA ? 1 : call.lda, transposeA ? call.lda : 1, alpha);
      } else if (!transposeA) {
        accumulateDotProducts(call, alpha);
      } else {
        accumulateBothTransposed(call, alpha);
      }
    },
  };
}
