/** Softmax of one row, shared by the output-head losses. */
import { kernelScratchFor } from "../tensor-memory.js";

/**
 * Writes softmax(source[start, start + width)) into target at the same offsets (target may be source)
 * and returns the row's log-sum-exp, computed in float64.
 */
export function softmaxRow(source: Float32Array, target: Float32Array, start: number, width: number): number {
  const wasm = kernelScratchFor(source, target);
  if (wasm !== undefined) {
    // Statistics land in the memory's scratch bytes at address 0: the row's maximum and sum of exps.
    wasm.kernels.softmaxRows(source.byteOffset + start * 4, target.byteOffset + start * 4, 0, 1, width);
    return (wasm.scratch[0] as number) + Math.log(wasm.scratch[1] as number);
  }
  const end = start + width;
  let maximum = Number.NEGATIVE_INFINITY;
  for (let index = start; index < end; index++) {
    const value = source[index] as number;
    if (value > maximum) {
      maximum = value;
    }
  }
  let sum = 0;
  for (let index = start; index < end; index++) {
    const value = Math.exp((source[index] as number) - maximum);
    target[index] = value;
    sum += value;
  }
  const inverse = 1 / sum;
  for (let index = start; index < end; index++) {
    target[index] = (target[index] as number) * inverse;
  }
  return maximum + Math.log(sum);
}
