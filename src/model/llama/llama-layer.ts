/**
 * One llama decoder layer, forward and backward, from the engine's fused ops:
 * h = x + o(attention(rope(qkv(rmsNorm(x)) [+ qkv bias]))); y = h + down(swiglu(gateUp(rmsNorm(h)))).
 * The residual adds are fused into the output projections (matmul accumulating into a copy of the
 * stream), and the backward pass accumulates the stream's gradient in one buffer.
 */
import {
  type AttentionShape,
  type Blas,
  causalAttentionBackward,
  causalAttentionForward,
  matmulBackward,
  matmulForward,
  type RotaryTable,
  rmsNormBackward,
  rmsNormForward,
  rotaryBackward,
  rotaryForward,
  swigluBackward,
  swigluForward,
  type Tensor,
} from "../../engine/index.js";
import type { LayerActivations, LlamaWorkspace } from "./llama-workspace.js";

/** One layer's weights (or their gradients): views into the flat parameter (or gradient) array. */
export interface LayerWeights {
  inputNorm: Tensor;
  /** q, k and v projections stacked: [(heads + 2 kvHeads) * headDimension, d]. */
  qkv: Tensor;
  /** q, k and v biases stacked: [(heads + 2 kvHeads) * headDimension]; absent without biases (Llama). */
  qkvBias?: Tensor;
  output: Tensor;
  postNorm: Tensor;
  /** gate and up projections stacked: [2 * intermediate, d]. */
  gateUp: Tensor;
  down: Tensor;
}

/** What every layer pass shares. */
export interface LayerContext {
  blas: Blas;
  rotary: RotaryTable;
  epsilon: number;
  /** Query plus key heads: the rotated part of each packed q/k/v row. */
  rotatedHeads: number;
  shape: AttentionShape;
}

/** Runs the layer on `activations.input`, saving what backward needs, and writes its result to `output`. */
export function llamaLayerForward(
  options: LayerContext & {
    weights: LayerWeights;
    activations: LayerActivations;
    output: Tensor;
    positions: Int32Array;
  },
): void {
  const {
    blas,
    rotary,
    epsilon,
    rotatedHeads,
    shape,
    weights: weight,
    activations: layer,
    output,
    positions,
  } = options;
  rmsNormForward({
    input: layer.input,
    weight: weight.inputNorm,
    epsilon,
    output: layer.attentionNormed,
    inverseRms: layer.attentionInverseRms,
  });
  matmulForward({
    blas,
    input: layer.attentionNormed,
    weight: weight.qkv,
    output: layer.qkv,
    ...(weight.qkvBias ? { bias: weight.qkvBias } : {}),
  });
  rotaryForward({ table: rotary, data: layer.qkv, positions, heads: rotatedHeads });
  causalAttentionForward({
    ...shape,
    blas,
    qkv: layer.qkv,
    probabilities: layer.probabilities,
    output: layer.attention,
  });
  layer.middle.data.set(layer.input.data);
  matmulForward({ blas, input: layer.attention, weight: weight.output, output: layer.middle, accumulate: true });
  rmsNormForward({
    input: layer.middle,
    weight: weight.postNorm,
    epsilon,
    output: layer.mlpNormed,
    inverseRms: layer.mlpInverseRms,
  });
  matmulForward({ blas, input: layer.mlpNormed, weight: weight.gateUp, output: layer.gateUp });
  swigluForward({ gateUp: layer.gateUp, output: layer.mlp });
  output.data.set(layer.middle.data);
  matmulForward({ blas, input: layer.mlp, weight: weight.down, output, accumulate: true });
}

/**
 * Backpropagates through the layer: `workspace.residualGradient` holds dL/d(output) on entry and
 * dL/d(input) on return; weight gradients accumulate into `gradients`.
 */
export function llamaLayerBackward(
  options: LayerContext & {
    weights: LayerWeights;
    gradients: LayerWeights;
    activations: LayerActivations;
    workspace: LlamaWorkspace;
  },
): void {
  const {
    blas,
    rotary,
    rotatedHeads,
    shape,
    weights: weight,
    gradients: gradient,
    activations: layer,
    workspace: w,
  } = options;
  const residual = w.residualGradient;
  matmulBackward({
    blas,
    input: layer.mlp,
    weight: weight.down,
    outputGradient: residual,
    inputGradient: w.mlpGradient,
    weightGradient: gradient.down,
  });
  swigluBackward({ gateUp: layer.gateUp, outputGradient: w.mlpGradient, gateUpGradient: w.gateUpGradient });
  matmulBackward({
    blas,
    input: layer.mlpNormed,
    weight: weight.gateUp,
    outputGradient: w.gateUpGradient,
    inputGradient: w.normedGradient,
    weightGradient: gradient.gateUp,
  });
  rmsNormBackward({
    input: layer.middle,
    weight: weight.postNorm,
    inverseRms: layer.mlpInverseRms,
    outputGradient: w.normedGradient,
    inputGradient: residual,
    weightGradient: gradient.postNorm,
  });
  matmulBackward({
    blas,
    input: layer.attention,
    weight: weight.output,
    outputGradient: residual,
    inputGradient: w.attentionGradient,
    weightGradient: gradient.output,
  });
  causalAttentionBackward({
    ...shape,
    blas,
    qkv: layer.qkv,
    probabilities: layer.probabilities,
    outputGradient: w.attentionGradient,
    qkvGradient: w.qkvGradient,
    scratch: w.attentionScratch,
  });
  rotaryBackward({ table: rotary, gradient: w.qkvGradient, positions: w.positions, heads: rotatedHeads });
  matmulBackward({
    blas,
    input: layer.attentionNormed,
    weight: weight.qkv,
    outputGradient: w.qkvGradient,
    inputGradient: w.normedGradient,
    weightGradient: gradient.qkv,
    ...(gradient.qkvBias ? { biasGradient: gradient.qkvBias } : {}),
  });
  rmsNormBackward({
    input: layer.input,
    weight: weight.inputNorm,
    inverseRms: layer.attentionInverseRms,
    outputGradient: w.normedGradient,
    inputGradient: residual,
    weightGradient: gradient.inputNorm,
  });
}
