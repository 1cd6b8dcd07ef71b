/** Bounds checks shared by the BLAS backends, so a wrong dimension is a ShapeError, not memory corruption. */
import type { MatrixMultiplyOptions } from "./blas-interface.js";
import { ShapeError } from "./engine-errors.js";

function checkOperand(
  name: string,
  array: Float32Array,
  offset: number,
  rows: number,
  columns: number,
  leadingDimension: number,
): void {
  if (rows === 0 || columns === 0) {
    return;
  }
  if (leadingDimension < columns) {
    throw new ShapeError(`matrixMultiply: ld${name} ${leadingDimension} < ${columns} stored columns`);
  }
  const end = offset + (rows - 1) * leadingDimension + columns;
  if (offset < 0 || end > array.length) {
    throw new ShapeError(
      `matrixMultiply: ${name} (${rows} x ${columns}, ld ${leadingDimension}, offset ${offset}) exceeds its ${array.length} elements`,
    );
  }
}

/** Throws a ShapeError unless every operand fits its array. */
export function checkMatrixMultiply(call: MatrixMultiplyOptions): void {
  const { m, n, k } = call;
  if (![m, n, k, call.lda, call.ldb, call.ldc].every((value) => Number.isInteger(value) && value >= 0)) {
    throw new ShapeError(`matrixMultiply: dimensions must be non-negative integers (m ${m}, n ${n}, k ${k})`);
  }
  const transposeA = call.transposeA === true;
  const transposeB = call.transposeB === true;
  checkOperand("a", call.a, call.aOffset ?? 0, transposeA ? k : m, transposeA ? m : k, call.lda);
  checkOperand("b", call.b, call.bOffset ?? 0, transposeB ? n : k, transposeB ? k : n, call.ldb);
  checkOperand("c", call.c, call.cOffset ?? 0, m, n, call.ldc);
}
