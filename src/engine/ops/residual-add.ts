/**
 * Residual connection: output = input + branch. The llama model fuses this into the projection that
 * produces the branch (matmulForward with `accumulate`), so this op serves other architectures and tests.
 */
import { assertShape, type Tensor } from "../tensor.js";

/** output = input + branch, element-wise. `output` may be `input` or `branch`. */
export function residualAddForward(options: { input: Tensor; branch: Tensor; output: Tensor }): void {
  const { input, branch, output } = options;
  assertShape(branch, input.shape, "residual branch");
  assertShape(output, input.shape, "residual output");
  const a = input.data;
  const b = branch.data;
  const y = output.data;
  for (let index = 0; index < y.length; index++) {
    y[index] = (a[index] as number) + (b[index] as number);
  }
}

/** inputGradient += outputGradient and branchGradient += outputGradient (either may be omitted). */
export function residualAddBackward(options: {
  outputGradient: Tensor;
  inputGradient?: Tensor;
  branchGradient?: Tensor;
}): void {
  const { outputGradient } = options;
  for (const gradient of [options.inputGradient, options.branchGradient]) {
    if (gradient === undefined) {
      continue;
    }
    assertShape(gradient, outputGradient.shape, "residual gradient");
    const source = outputGradient.data;
    const target = gradient.data;
    for (let index = 0; index < target.length; index++) {
      target[index] = (target[index] as number) + (source[index] as number);
    }
  }
}
