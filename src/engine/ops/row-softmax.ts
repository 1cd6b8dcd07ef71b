/** Softmax of one row, shared by the output-head losses. */
import { runKernels } from "../kernel-call.js";

/**
 * Writes softmax(source[start, start + width)) into target at the same offsets (target may be source)
 * and returns the row's log-sum-exp, computed in float64.
 */
export function softmaxRow(source: Float32Array, target: Float32Array, start: number, width: number): number {
  let logSumExp = 0;
  // Only the row travels when source and target live in different memories.
  const sourceRow = source.subarray(start, start + width);
  const targetRow = source === target ? sourceRow : target.subarray(start, start + width);
  const ranKernels = runKernels({
    operation: "softmaxRow",
    inputs: source === target ? [] : [sourceRow],
    outputs: [targetRow],
    run: ({ kernels, scratch, address }) => {
      // Statistics land in the memory's scratch bytes at address 0: the row's maximum and sum of exps.
      kernels.softmaxRows(address(sourceRow), address(targetRow), 0, 1, width);
      logSumExp = (scratch[0] as number) + Math.log(scratch[1] as number);
    },
  });
  if (ranKernels) {
    return logSumExp;
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
