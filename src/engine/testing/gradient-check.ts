/** Finite-difference gradient checks for float32 ops. */

/**
 * Compares `analytic` (the gradient of `loss` with respect to `values`) with central differences
 * at up to `samples` evenly spread indices, perturbing `values` in place and restoring it. `loss`
 * must recompute the forward pass from `values` and return a float64 scalar. Returns the largest
 * |numeric - analytic| divided by the largest |numeric| seen (at least 1e-3): a scale-relative error.
 * Default epsilon 1e-2 suits float32 (rounding noise ~1e-7 / epsilon, truncation ~epsilon^2).
 */
export function finiteDifferenceError(options: {
  values: Float32Array;
  analytic: Float32Array;
  loss: () => number;
  epsilon?: number;
  samples?: number;
}): number {
  const { values, analytic, loss, epsilon = 1e-2, samples = 48 } = options;
  const stride = Math.max(1, Math.floor(values.length / samples));
  let worst = 0;
  let scale = 1e-3;
  for (let index = 0; index < values.length; index += stride) {
    const original = values[index] as number;
    values[index] = original + epsilon;
    const plus = loss();
    values[index] = original - epsilon;
    const minus = loss();
    values[index] = original;
    const numeric = (plus - minus) / (2 * epsilon);
    scale = Math.max(scale, Math.abs(numeric));
    worst = Math.max(worst, Math.abs(numeric - (analytic[index] as number)));
  }
  return worst / scale;
}

/** sum(output * weights) in float64: a scalar loss whose gradient with respect to output is `weights`. */
export function weightedSum(output: ArrayLike<number>, weights: ArrayLike<number>): number {
  let sum = 0;
  for (let index = 0; index < output.length; index++) {
    sum += (output[index] as number) * (weights[index] as number);
  }
  return sum;
}

/** Deterministic pseudo-random float32 values in [-scale, scale) (a small linear congruential generator). */
export function pseudoRandom(count: number, seed: number, scale = 1): Float32Array {
  const values = new Float32Array(count);
  let state = (seed * 2654435761 + 1) >>> 0;
  for (let index = 0; index < count; index++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    values[index] = ((state / 4294967296) * 2 - 1) * scale;
  }
  return values;
}
