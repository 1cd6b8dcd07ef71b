/** Global-norm gradient clipping, as torch.nn.utils.clip_grad_norm_ with the L2 norm. */
import { kernelsFor } from "../tensor-memory.js";

/** L2 norm over every element of every array, summed in float64. */
export function gradientNorm(gradients: Float32Array | readonly Float32Array[]): number {
  const arrays = gradients instanceof Float32Array ? [gradients] : gradients;
  let sum = 0;
  for (const array of arrays) {
    const kernels = kernelsFor(array);
    if (kernels !== undefined) {
      sum += kernels.sumOfSquares(array.byteOffset, array.length);
      continue;
    }
    for (let index = 0; index < array.length; index++) {
      const value = array[index] as number;
      sum += value * value;
    }
  }
  return Math.sqrt(sum);
}

/**
 * Scales all gradients by maxNorm / (norm + 1e-6) when their global L2 norm exceeds `maxNorm`, in
 * place; returns the norm before clipping (NaN or Infinity propagate, so a caller can skip the step).
 */
export function clipGradientNorm(options: {
  gradients: Float32Array | readonly Float32Array[];
  maxNorm: number;
}): number {
  const { gradients, maxNorm } = options;
  const norm = gradientNorm(gradients);
  const coefficient = maxNorm / (norm + 1e-6);
  if (coefficient < 1) {
    for (const array of gradients instanceof Float32Array ? [gradients] : gradients) {
      const kernels = kernelsFor(array);
      if (kernels !== undefined) {
        kernels.scale(array.byteOffset, array.length, coefficient);
        continue;
      }
      for (let index = 0; index < array.length; index++) {
        array[index] = (array[index] as number) * coefficient;
      }
    }
  }
  return norm;
}
