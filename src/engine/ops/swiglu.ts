/**
 * SwiGLU gate of the Llama MLP: output = silu(gate) * up, where each row of `gateUp` holds the gate
 * projection followed by the up projection (one matrix multiply computes both).
 */

import { runKernels } from "../kernel-call.js";
import { assertShape, type Tensor } from "../tensor.js";

/** output [rows, f] = silu(gateUp[:, :f]) * gateUp[:, f:], with gateUp [rows, 2f]. */
export function swigluForward(options: { gateUp: Tensor; output: Tensor }): void {
  const { gateUp, output } = options;
  const [rows = 0, width = 0] = gateUp.shape;
  const hidden = width / 2;
  assertShape(output, [rows, hidden], "swiglu output");
  const ranKernels = runKernels({
    operation: "swigluForward",
    inputs: [gateUp.data],
    outputs: [output.data],
    run: ({ kernels, address }) => kernels.swigluForward(address(gateUp.data), address(output.data), rows, hidden),
  });
  if (ranKernels) {
    return;
  }
  const source = gateUp.data;
  const target = output.data;
  for (let row = 0; row < rows; row++) {
    const gateStart = row * width;
    const upStart = gateStart + hidden;
    const outputStart = row * hidden;
    for (let index = 0; index < hidden; index++) {
      const gate = source[gateStart + index] as number;
      target[outputStart + index] = (gate / (1 + Math.exp(-gate))) * (source[upStart + index] as number);
    }
  }
}

/**
 * Gradient of swigluForward into `gateUpGradient` [rows, 2f] (overwritten). With s = sigmoid(gate):
 * d/d up = silu(gate), d/d gate = up * s * (1 + gate * (1 - s)).
 */
export function swigluBackward(options: { gateUp: Tensor; outputGradient: Tensor; gateUpGradient: Tensor }): void {
  const { gateUp, outputGradient, gateUpGradient } = options;
  const [rows = 0, width = 0] = gateUp.shape;
  const hidden = width / 2;
  assertShape(outputGradient, [rows, hidden], "swiglu output gradient");
  assertShape(gateUpGradient, [rows, width], "swiglu input gradient");
  const ranKernels = runKernels({
    operation: "swigluBackward",
    inputs: [gateUp.data, outputGradient.data],
    outputs: [gateUpGradient.data],
    run: ({ kernels, address }) =>
      kernels.swigluBackward(
        address(gateUp.data),
        address(outputGradient.data),
        address(gateUpGradient.data),
        rows,
        hidden,
      ),
  });
  if (ranKernels) {
    return;
  }
  const source = gateUp.data;
  const upstream = outputGradient.data;
  const target = gateUpGradient.data;
  for (let row = 0; row < rows; row++) {
    const gateStart = row * width;
    const upStart = gateStart + hidden;
    const outputStart = row * hidden;
    for (let index = 0; index < hidden; index++) {
      const gate = source[gateStart + index] as number;
      const up = source[upStart + index] as number;
      const gradient = upstream[outputStart + index] as number;
      const sigmoid = 1 / (1 + Math.exp(-gate));
      target[gateStart + index] = gradient * up * sigmoid * (1 + gate * (1 - sigmoid));
      target[upStart + index] = gradient * gate * sigmoid;
    }
  }
}
