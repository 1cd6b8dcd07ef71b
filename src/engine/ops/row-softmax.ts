/** Softmax of one row, shared by the output-head losses. */

/**
 * Writes softmax(source[start, start + width)) into target at the same offsets (target may be source)
 * and returns the row's log-sum-exp, computed in float64.
 */
export function softmaxRow(source: Float32Array, target: Float32Array, start: number, width: number): number {
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
