/**
 * One llama decoder layer, forward and backward, from the engine's fused ops:
 * h = x + o(attention(rope(qkv(rmsNorm(x)) [+ qkv bias]))); y = h + down(swiglu(gateUp(rmsNorm(h)))).
 * The residual adds are fused into the output projections (matmul accumulating into a copy of the
 * stream), and the backward pass accumulates the stream's gradient in one buffer. LoRA adapters add
 * into the projections' outputs right after each base projection (before the q/k/v rotation); with
 * `gradients` absent the base weights are frozen and only adapter gradients are computed.
 */
import {
  type AttentionShape,
  type Blas,
  causalAttentionBackward,
  causalAttentionForward,
  lowRankAdapterBackward,
  lowRankAdapterForward,
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
  viewTensor,
} from "../../engine/index.js";
import type { LayerAdapter } from "./llama-lora.js";
import { expandPackedRows, gatherRowsInPlace, packRowsInPlace, type RowPacking, scatterRows } from "./llama-packing.js";
import type { LayerActivations, LlamaWorkspace } from "./llama-workspace.js";

/** A layer's adapters and how they run; `adapters[i]` pairs with `activations.adapters[i]`. */
export interface LayerAdapters {
  adapters: readonly LayerAdapter[];
  /** lora_alpha / rank. */
  scaling: number;
  /** Apply the saved dropout scales (training with dropout); false runs the adapters without dropout. */
  dropout: boolean;
}

function adaptersForward(options: {
  blas: Blas;
  adapters: LayerAdapters | undefined;
  activations: LayerActivations;
  projection: LayerAdapter["projection"];
  input: Tensor;
  output: Tensor;
}): void {
  const { blas, adapters, activations, projection, input, output } = options;
  adapters?.adapters.forEach((adapter, index) => {
    if (adapter.projection !== projection) return;
    const saved = activations.adapters[index];
    if (saved === undefined) throw new RangeError(`no activations for adapter ${index}`);
    lowRankAdapterForward({
      blas,
      input,
      down: adapter.down,
      up: adapter.up,
      scaling: adapters.scaling,
      hidden: saved.hidden,
      output,
      outputColumn: adapter.column,
      ...(adapters.dropout && saved.dropout !== undefined ? { dropout: saved.dropout } : {}),
    });
  });
}

function adaptersBackward(options: {
  blas: Blas;
  adapters: LayerAdapters | undefined;
  activations: LayerActivations;
  workspace: LlamaWorkspace;
  projection: LayerAdapter["projection"];
  input: Tensor;
  outputGradient: Tensor;
  inputGradient: Tensor;
}): void {
  const { blas, adapters, activations, workspace, projection, input, outputGradient, inputGradient } = options;
  adapters?.adapters.forEach((adapter, index) => {
    if (adapter.projection !== projection) return;
    const saved = activations.adapters[index];
    if (saved === undefined) throw new RangeError(`no activations for adapter ${index}`);
    const dropout = adapters.dropout ? saved.dropout : undefined;
    lowRankAdapterBackward({
      blas,
      input,
      down: adapter.down,
      up: adapter.up,
      scaling: adapters.scaling,
      hidden: saved.hidden,
      outputGradient,
      outputColumn: adapter.column,
      downGradient: adapter.downGradient,
      upGradient: adapter.upGradient,
      inputGradient,
      hiddenGradient: workspace.adapterHiddenGradient,
      ...(dropout === undefined
        ? {}
        : {
            dropout,
            inputScratch: viewTensor({ data: workspace.adapterInputScratch, shape: input.shape }),
          }),
    });
  });
}

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
  /** Which batch rows the row-wise activations hold; attention runs on the batch layout. */
  packing: RowPacking;
}

/** The first `packing.rows` rows of a batch-layout tensor. */
function packedView(tensor: Tensor, packing: RowPacking): Tensor {
  return viewTensor({ data: tensor.data, shape: [packing.rows, tensor.shape[1] ?? 0] });
}

/** Runs the layer on `activations.input`, saving what backward needs, and writes its result to `output`. */
export function llamaLayerForward(
  options: LayerContext & {
    weights: LayerWeights;
    activations: LayerActivations;
    output: Tensor;
    positions: Int32Array;
    /** LoRA adapters (default none). */
    adapters?: LayerAdapters;
    /**
     * Packed rows whose output is needed (default all): the others get attention only (their keys
     * and values), and a zero output row. Not with adapters.
     */
    outputRows?: Int32Array;
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
    adapters,
    packing,
    outputRows,
  } = options;
  const count = outputRows?.length ?? packing.rows;
  const part = (tensor: Tensor): Tensor => firstRows(tensor, count);
  const d = layer.input.shape[1] ?? 0;
  const adapt = (projection: LayerAdapter["projection"], input: Tensor, into: Tensor) =>
    adaptersForward({ blas, adapters, activations: layer, projection, input, output: into });
  const qkv = packedView(layer.qkv, packing);
  const attention = packedView(layer.attention, packing);
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
    output: qkv,
    ...(weight.qkvBias ? { bias: weight.qkvBias } : {}),
  });
  adapt("qkv", layer.attentionNormed, qkv);
  rotaryForward({ table: rotary, data: qkv, positions, heads: rotatedHeads });
  expandPackedRows({ data: layer.qkv, packing });
  causalAttentionForward({
    ...shape,
    blas,
    qkv: layer.qkv,
    probabilities: layer.probabilities,
    output: layer.attention,
  });
  packRowsInPlace({ data: layer.attention, packing });
  const middle = part(layer.middle);
  const mlpNormed = part(layer.mlpNormed);
  const gateUp = part(layer.gateUp);
  const mlp = part(layer.mlp);
  const out = part(output);
  if (outputRows === undefined) {
    middle.data.set(layer.input.data);
  } else {
    gatherRowsInPlace({ data: layer.attention, rowIndices: outputRows, count });
    outputRows.forEach((row, index) => {
      middle.data.set(layer.input.data.subarray(row * d, (row + 1) * d), index * d);
    });
  }
  const attended = part(attention);
  matmulForward({ blas, input: attended, weight: weight.output, output: middle, accumulate: true });
  adapt("output", attended, middle);
  rmsNormForward({
    input: middle,
    weight: weight.postNorm,
    epsilon,
    output: mlpNormed,
    inverseRms: layer.mlpInverseRms.subarray(0, count),
  });
  matmulForward({ blas, input: mlpNormed, weight: weight.gateUp, output: gateUp });
  adapt("gateUp", mlpNormed, gateUp);
  swigluForward({ gateUp, output: mlp });
  out.data.set(middle.data);
  matmulForward({ blas, input: mlp, weight: weight.down, output: out, accumulate: true });
  adapt("down", mlp, out);
  if (outputRows !== undefined) scatterRows({ gradient: output, rowIndices: outputRows, count });
}

/** The first `count` rows of a matrix, as a view. */
function firstRows(tensor: Tensor, count: number): Tensor {
  return viewTensor({ data: tensor.data, shape: [count, tensor.shape[1] ?? 0] });
}

/**
 * Backpropagates through the layer: `workspace.residualGradient` holds dL/d(output) on entry and
 * dL/d(input) on return; weight gradients accumulate into `gradients` (absent: frozen base, no weight
 * gradients) and adapter gradients into the adapters'.
 */
export function llamaLayerBackward(
  options: LayerContext & {
    weights: LayerWeights;
    gradients: LayerWeights | undefined;
    activations: LayerActivations;
    workspace: LlamaWorkspace;
    /** LoRA adapters (default none), as in the forward pass. */
    adapters?: LayerAdapters;
    /** As in the forward pass (default all rows). */
    outputRows?: Int32Array;
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
    adapters,
    packing,
    outputRows,
  } = options;
  const count = outputRows?.length ?? packing.rows;
  const part = (tensor: Tensor): Tensor => firstRows(tensor, count);
  // Rows without an output have a zero gradient there: the MLP and output projection see the others.
  if (outputRows !== undefined) gatherRowsInPlace({ data: w.residualGradient, rowIndices: outputRows, count });
  const residual = part(w.residualGradient);
  const mlp = part(layer.mlp);
  const mlpGradient = part(w.mlpGradient);
  const gateUp = part(layer.gateUp);
  const gateUpGradient = part(w.gateUpGradient);
  const mlpNormed = part(layer.mlpNormed);
  const normedGradient = part(w.normedGradient);
  const middle = part(layer.middle);
  const attention = part(layer.attention);
  const attentionGradient = part(w.attentionGradient);
  const qkvGradient = packedView(w.qkvGradient, packing);
  const adapt = (
    projection: LayerAdapter["projection"],
    input: Tensor,
    outputGradient: Tensor,
    inputGradient: Tensor,
  ) =>
    adaptersBackward({
      blas,
      adapters,
      activations: layer,
      workspace: w,
      projection,
      input,
      outputGradient,
      inputGradient,
    });
  const normGradient = (tensor: Tensor | undefined): Tensor => tensor ?? w.frozenNormGradient;
  matmulBackward({
    blas,
    input: mlp,
    weight: weight.down,
    outputGradient: residual,
    inputGradient: mlpGradient,
    ...(gradient ? { weightGradient: gradient.down } : {}),
  });
  adapt("down", mlp, residual, mlpGradient);
  swigluBackward({ gateUp, outputGradient: mlpGradient, gateUpGradient });
  matmulBackward({
    blas,
    input: mlpNormed,
    weight: weight.gateUp,
    outputGradient: gateUpGradient,
    inputGradient: normedGradient,
    ...(gradient ? { weightGradient: gradient.gateUp } : {}),
  });
  adapt("gateUp", mlpNormed, gateUpGradient, normedGradient);
  rmsNormBackward({
    input: middle,
    weight: weight.postNorm,
    inverseRms: layer.mlpInverseRms.subarray(0, count),
    outputGradient: normedGradient,
    inputGradient: residual,
    weightGradient: normGradient(gradient?.postNorm),
  });
  matmulBackward({
    blas,
    input: attention,
    weight: weight.output,
    outputGradient: residual,
    inputGradient: attentionGradient,
    ...(gradient ? { weightGradient: gradient.output } : {}),
  });
  adapt("output", attention, residual, attentionGradient);
  if (outputRows !== undefined) scatterRows({ gradient: w.residualGradient, rowIndices: outputRows, count });
  // A shared row's output gradient goes to its first occurrence only; the others are copies.
  const owners = outputRows === undefined ? packing.paddedOf : outputRows.map((row) => packing.paddedOf[row] as number);
  scatterRows({ gradient: w.attentionGradient, rowIndices: owners, count });
  causalAttentionBackward({
    ...shape,
    blas,
    qkv: layer.qkv,
    probabilities: layer.probabilities,
    outputGradient: w.attentionGradient,
    qkvGradient: w.qkvGradient,
    scratch: w.attentionScratch,
  });
  packRowsInPlace({ data: w.qkvGradient, packing, sumShared: true });
  rotaryBackward({ table: rotary, gradient: qkvGradient, positions: w.positions, heads: rotatedHeads });
  matmulBackward({
    blas,
    input: layer.attentionNormed,
    weight: weight.qkv,
    outputGradient: qkvGradient,
    inputGradient: w.normedGradient,
    ...(gradient ? { weightGradient: gradient.qkv } : {}),
    ...(gradient?.qkvBias ? { biasGradient: gradient.qkvBias } : {}),
  });
  adapt("qkv", layer.attentionNormed, qkvGradient, w.normedGradient);
  rmsNormBackward({
    input: layer.input,
    weight: weight.inputNorm,
    inverseRms: layer.attentionInverseRms,
    outputGradient: w.normedGradient,
    inputGradient: w.residualGradient,
    weightGradient: normGradient(gradient?.inputNorm),
  });
}
