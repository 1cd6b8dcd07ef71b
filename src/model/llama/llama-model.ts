/**
 * A llama-family decoder assembled from the engine's fused ops: forward to logits, hand-written
 * backward into one flat gradient array, and the two output heads training needs (per-sequence mean
 * NLL, per-token log-probabilities). Compute only: checkpoints and generation build on this.
 * With LoRA the base weights are frozen: only the adapters have gradients (and optimizer state).
 */
import {
  type Blas,
  createRotaryTable,
  createTensorMemory,
  embeddingBackward,
  embeddingForward,
  matmulBackward,
  matmulForward,
  rmsNormBackward,
  rmsNormForward,
  ShapeError,
  type Tensor,
  type TensorMemory,
  viewTensor,
} from "../../engine/index.js";
import { StableAlignmentError } from "../../spec/errors.js";
import { type LlamaConfig, validateLlamaConfig } from "./llama-config.js";
import { createTargetRowHead } from "./llama-head.js";
import { type LayerAdapters, type LayerWeights, llamaLayerBackward, llamaLayerForward } from "./llama-layer.js";
import {
  createLayerAdapters,
  fillDropoutScales,
  initializeLoraParameters,
  type LoraSettings,
  loraParameterLayout,
} from "./llama-lora.js";
import { packRows, type RowPacking } from "./llama-packing.js";
import { initializeLlamaParameters, llamaParameterLayout, type ParameterEntry } from "./llama-parameters.js";
import {
  checkBatchShape,
  createWorkspaceStore,
  type LayerActivations,
  type LlamaWorkspace,
} from "./llama-workspace.js";

/** One batch of token ids: `batchSize` sequences of `sequenceLength`, row-major. */
export interface TokenBatch {
  tokens: Int32Array;
  batchSize: number;
  sequenceLength: number;
  /**
   * Seed of this pass's LoRA dropout masks (training). Absent (the default): no dropout, as in
   * evaluation. Ignored by models without adapter dropout.
   */
  dropoutSeed?: number;
}

/** A batch with next-token targets (same layout; a negative target masks that position). */
export interface TargetBatch extends TokenBatch {
  targets: Int32Array;
}

/** A llama decoder with its weights and gradients. Not safe for concurrent use. */
export interface LlamaModel {
  readonly config: LlamaConfig;
  readonly blas: Blas;
  /** Where weights, gradients and activations live (wasm memory runs the SIMD kernels). */
  readonly memory: TensorMemory;
  /** Every base weight, flat, in `layout` order. */
  readonly parameters: Float32Array;
  /**
   * Gradients of the trainable parameters (`trainable.layout`): the base weights, or with LoRA the
   * adapters only. Backward passes add to them until `zeroGradients`.
   */
  readonly gradients: Float32Array;
  readonly layout: readonly ParameterEntry[];
  /** What training updates: the base weights (full fine-tune) or the adapters (LoRA). */
  readonly trainable: {
    readonly parameters: Float32Array;
    readonly gradients: Float32Array;
    readonly layout: readonly ParameterEntry[];
  };
  /** The LoRA adapters' settings and scaling (alpha / rank); undefined for a full fine-tune. */
  readonly lora: { readonly settings: LoraSettings; readonly scaling: number } | undefined;
  /** A weight (base, or adapter by PEFT name) as a view into its flat array. */
  parameter(name: string): Tensor;
  /** A trainable parameter's gradient by name, as a view into `gradients`. */
  gradient(name: string): Tensor;
  /**
   * Runs the decoder; returns logits [batch * sequence, vocabulary], owned by the model and valid until
   * the next call. Right-pad sequences of unequal length: attention is causal, so padding after a
   * sequence's tokens does not change them (mask the padding's targets).
   */
  forward(batch: TokenBatch): Tensor;
  /**
   * Backpropagates a logits gradient [batch * sequence, vocabulary] after `forward` (default: the
   * logits buffer itself; the loss heads have their own backward passes).
   */
  backward(options?: { logitsGradient?: Tensor }): void;
  /**
   * Forward pass plus masked cross-entropy: per-sequence mean NLL (nats) and target counts, owned by
   * the model until the next call. Runs only what the losses depend on (a shared prompt prefix once,
   * nothing past a sequence's last target, the head on target rows).
   */
  sequenceLosses(batch: TargetBatch): { losses: Float64Array; tokenCounts: Int32Array };
  /** Backward pass from dLoss/dSequenceLoss [batch] after `sequenceLosses`. */
  backwardSequenceLosses(options: { lossGradients: ArrayLike<number> }): void;
  /** Forward pass plus log p(target) per position [batch * sequence] (0 where masked), owned by the model. */
  tokenLogProbabilities(batch: TargetBatch): Float32Array;
  /** Backward pass from dLoss/dLogProbability [batch * sequence] after `tokenLogProbabilities`. */
  backwardTokenLogProbabilities(options: { logProbabilityGradients: Float32Array }): void;
  zeroGradients(): void;
}

/**
 * Creates a model. Weights start as Hugging Face llama does: normal(0, initializerRange) for matrices
 * (default 0.02), ones for norms, zeros for biases, from `seed` (default 0). `memory` defaults to
 * createTensorMemory() (wasm SIMD kernels where the runtime has them). With `lora` (default none) the
 * base is frozen and adapters are added on the targeted projections, initialised as PEFT does from
 * `seed`.
 */
export function createLlamaModel(options: {
  config: LlamaConfig;
  blas: Blas;
  memory?: TensorMemory;
  seed?: number;
  initializerRange?: number;
  lora?: LoraSettings;
}): LlamaModel {
  const { blas, seed = 0, initializerRange = 0.02, memory = createTensorMemory(), lora } = options;
  const config = validateLlamaConfig({ ...options.config });
  const { entries, totalSize } = llamaParameterLayout(config);
  const parameters = memory.allocate(totalSize);
  const adapterLayout = lora === undefined ? undefined : loraParameterLayout(config, lora);
  const adapterParameters = adapterLayout === undefined ? undefined : memory.allocate(adapterLayout.totalSize);
  const gradients = memory.allocate(adapterLayout?.totalSize ?? totalSize);
  const trainable = {
    parameters: adapterParameters ?? parameters,
    gradients,
    layout: adapterLayout?.entries ?? entries,
  };
  const byName = new Map(entries.map((entry) => [entry.name, entry]));
  const adapterByName = new Map((adapterLayout?.entries ?? []).map((entry) => [entry.name, entry]));
  initializeLlamaParameters({ parameters, layout: entries, seed, initializerRange });
  if (adapterParameters !== undefined && adapterLayout !== undefined) {
    initializeLoraParameters({ parameters: adapterParameters, layout: adapterLayout.entries, seed });
  }
  const find = (name: string): ParameterEntry => {
    const entry = byName.get(name);
    if (entry === undefined) {
      throw new ShapeError(`llama has no parameter ${name}`);
    }
    return entry;
  };
  const adapterView = (data: Float32Array, name: string): Tensor => {
    const entry = adapterByName.get(name);
    if (entry === undefined) throw new ShapeError(`llama has no adapter parameter ${name}`);
    return viewTensor({ data, offset: entry.offset, shape: entry.shape });
  };
  const view = (data: Float32Array, name: string, rows?: number): Tensor => {
    const entry = find(name);
    const shape = rows === undefined ? entry.shape : [rows, entry.shape[1] ?? 1];
    return viewTensor({ data, offset: entry.offset, shape });
  };
  const d = config.hiddenSize;
  const headDimension = d / config.heads;
  const qkvRows = (config.heads + 2 * config.kvHeads) * headDimension;
  const layerWeights = (data: Float32Array): LayerWeights[] =>
    Array.from({ length: config.layers }, (_, layer) => {
      const prefix = `model.layers.${layer}.`;
      return {
        inputNorm: view(data, `${prefix}input_layernorm.weight`),
        qkv: view(data, `${prefix}self_attn.q_proj.weight`, qkvRows),
        ...(config.queryKeyValueBias === true
          ? {
              qkvBias: viewTensor({ data, offset: find(`${prefix}self_attn.q_proj.bias`).offset, shape: [qkvRows] }),
            }
          : {}),
        output: view(data, `${prefix}self_attn.o_proj.weight`),
        postNorm: view(data, `${prefix}post_attention_layernorm.weight`),
        gateUp: view(data, `${prefix}mlp.gate_proj.weight`, 2 * config.intermediateSize),
        down: view(data, `${prefix}mlp.down_proj.weight`),
      };
    });
  const weights = layerWeights(parameters);
  // With LoRA the base is frozen: no base weight gradients at all.
  const weightGradients = lora === undefined ? layerWeights(gradients) : undefined;
  const scaling = lora === undefined ? 0 : lora.alpha / lora.rank;
  const adapters =
    lora === undefined || adapterParameters === undefined || adapterLayout === undefined
      ? []
      : createLayerAdapters({
          config,
          settings: lora,
          layout: adapterLayout.entries,
          parameters: adapterParameters,
          gradients,
        });
  let dropoutActive = false;
  const adaptersOf = (layer: number): { adapters?: LayerAdapters } =>
    lora === undefined ? {} : { adapters: { adapters: adapters[layer] ?? [], scaling, dropout: dropoutActive } };
  const headName = config.tieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight";
  const embedding = view(parameters, "model.embed_tokens.weight");
  const embeddingGradient = lora === undefined ? view(gradients, "model.embed_tokens.weight") : undefined;
  const head = view(parameters, headName);
  const headGradient = lora === undefined ? view(gradients, headName) : undefined;
  const finalNorm = view(parameters, "model.norm.weight");
  const finalNormGradient = lora === undefined ? view(gradients, "model.norm.weight") : undefined;
  const rotary = createRotaryTable({
    headDimension,
    maxPositions: config.maxPositions,
    theta: config.ropeTheta,
    memory,
  });
  const attentionShape = { heads: config.heads, kvHeads: config.kvHeads, headDimension };
  const epsilon = config.rmsNormEpsilon;
  const targetRowHead = createTargetRowHead({ blas, head, headGradient });
  const context = { blas, rotary, epsilon, rotatedHeads: config.heads + config.kvHeads };
  // The loss heads need the last layer's output on target rows only (not with adapters: their saved
  // activations cover every row).
  const outputRowsOf = (w: LlamaWorkspace, layer: number): { outputRows?: Int32Array } => {
    const rows = w.packing.targetRows;
    return layer === config.layers - 1 && lora === undefined && rows !== undefined && rows.length > 0
      ? { outputRows: rows }
      : {};
  };
  const packFor = (batch: TargetBatch): RowPacking => {
    checkBatchShape({ ...batch, maxPositions: config.maxPositions });
    if (batch.targets.length !== batch.tokens.length) {
      throw new ShapeError(`llama batch: ${batch.targets.length} targets, expected ${batch.tokens.length}`);
    }
    return packRows(batch);
  };

  const workspaces = createWorkspaceStore({ config, memory, ...(lora ? { lora } : {}) });
  let workspace: LlamaWorkspace | undefined;
  let pending: "none" | "logits" | "loss" | "log-probabilities" = "none";

  const workspaceFor = (batch: TokenBatch, packing: RowPacking | undefined): LlamaWorkspace => {
    const shape = checkBatchShape({ ...batch, maxPositions: config.maxPositions });
    workspace = workspaces.workspaceFor({ ...shape, ...(packing ? { packing } : {}) });
    return workspace;
  };

  // The decoder up to the final norm; the head matmul is the caller's (all rows or target rows).
  // With `packing` (the loss heads) the row-wise work runs on the packed rows only.
  const forwardTrunk = (batch: TokenBatch, packing?: RowPacking): LlamaWorkspace => {
    const w = workspaceFor(batch, packing);
    w.packing.paddedOf.forEach((row, packed) => {
      w.tokens[packed] = batch.tokens[row] as number;
    });
    const shape = { ...attentionShape, batchSize: batch.batchSize, sequenceLength: batch.sequenceLength };
    dropoutActive = lora !== undefined && lora.dropout > 0 && batch.dropoutSeed !== undefined;
    if (dropoutActive && lora !== undefined) {
      fillDropoutScales({ layers: w.layers, probability: lora.dropout, seed: batch.dropoutSeed ?? 0 });
    }
    const first = w.layers[0];
    embeddingForward({ table: embedding, tokens: w.tokens, output: first === undefined ? w.finalHidden : first.input });
    w.layers.forEach((layer, index) => {
      llamaLayerForward({
        ...context,
        packing: w.packing,
        shape,
        weights: weights[index] as LayerWeights,
        activations: layer,
        output: w.layers[index + 1]?.input ?? w.finalHidden,
        positions: w.positions,
        ...adaptersOf(index),
        ...outputRowsOf(w, index),
      });
    });
    rmsNormForward({
      input: w.finalHidden,
      weight: finalNorm,
      epsilon,
      output: w.finalNormed,
      inverseRms: w.finalInverseRms,
    });
    return w;
  };

  const forward = (batch: TokenBatch): Tensor => {
    const w = forwardTrunk(batch);
    matmulForward({ blas, input: w.finalNormed, weight: head, output: w.logits });
    pending = "logits";
    return w.logits;
  };

  const backward = (logitsGradient: Tensor): void => {
    const w = workspace;
    if (w === undefined || pending === "none") {
      throw new StableAlignmentError("BACKWARD_WITHOUT_FORWARD", "llama backward called without a forward pass");
    }
    matmulBackward({
      blas,
      input: w.finalNormed,
      weight: head,
      outputGradient: logitsGradient,
      inputGradient: w.normedGradient,
      ...(headGradient ? { weightGradient: headGradient } : {}),
    });
    backwardTrunk(w);
  };

  // Backward from dLoss/dFinalNormed (in the workspace's normedGradient) to every weight.
  const backwardTrunk = (w: LlamaWorkspace): void => {
    pending = "none";
    const shape = { ...attentionShape, batchSize: w.batchSize, sequenceLength: w.sequenceLength };
    const residual = w.residualGradient;
    residual.data.fill(0);
    rmsNormBackward({
      input: w.finalHidden,
      weight: finalNorm,
      inverseRms: w.finalInverseRms,
      outputGradient: w.normedGradient,
      inputGradient: residual,
      weightGradient: finalNormGradient ?? w.frozenNormGradient,
    });
    for (let index = config.layers - 1; index >= 0; index--) {
      llamaLayerBackward({
        ...context,
        packing: w.packing,
        shape,
        weights: weights[index] as LayerWeights,
        gradients: weightGradients?.[index],
        activations: w.layers[index] as LayerActivations,
        workspace: w,
        ...adaptersOf(index),
        ...outputRowsOf(w, index),
      });
    }
    if (embeddingGradient !== undefined) {
      embeddingBackward({ tokens: w.tokens, outputGradient: residual, tableGradient: embeddingGradient });
    }
  };

  const requireHead = (expected: typeof pending, what: string): LlamaWorkspace => {
    if (workspace === undefined || pending !== expected) {
      throw new StableAlignmentError("BACKWARD_WITHOUT_FORWARD", `${what} needs the matching forward call first`);
    }
    return workspace;
  };

  return {
    config,
    blas,
    memory,
    parameters,
    gradients,
    layout: entries,
    trainable,
    lora: lora === undefined ? undefined : { settings: lora, scaling },
    parameter: (name) =>
      adapterParameters !== undefined && adapterByName.has(name)
        ? adapterView(adapterParameters, name)
        : view(parameters, name),
    gradient: (name) => {
      if (lora === undefined) return view(gradients, name);
      if (!adapterByName.has(name)) throw new ShapeError(`${name} is frozen under LoRA: it has no gradient`);
      return adapterView(gradients, name);
    },
    forward,
    backward: (backwardOptions = {}) => {
      // The loss heads keep logits of target rows only: the default needs forward()'s full logits.
      const logits = pending === "logits" ? workspace?.logits : undefined;
      const gradient = backwardOptions.logitsGradient ?? logits;
      if (gradient === undefined) {
        throw new StableAlignmentError(
          "BACKWARD_WITHOUT_FORWARD",
          "llama backward needs a logitsGradient or a forward() call first",
        );
      }
      backward(gradient);
    },
    sequenceLosses(batch) {
      const w = forwardTrunk(batch, packFor(batch));
      const result = targetRowHead.sequenceLosses({ workspace: w, targets: batch.targets });
      pending = "loss";
      return result;
    },
    backwardSequenceLosses({ lossGradients }) {
      const w = requireHead("loss", "backwardSequenceLosses");
      targetRowHead.backwardSequenceLosses({ workspace: w, lossGradients });
      backwardTrunk(w);
    },
    tokenLogProbabilities(batch) {
      const w = forwardTrunk(batch, packFor(batch));
      const result = targetRowHead.tokenLogProbabilities({ workspace: w, targets: batch.targets });
      pending = "log-probabilities";
      return result;
    },
    backwardTokenLogProbabilities({ logProbabilityGradients }) {
      const w = requireHead("log-probabilities", "backwardTokenLogProbabilities");
      targetRowHead.backwardTokenLogProbabilities({ workspace: w, logProbabilityGradients });
      backwardTrunk(w);
    },
    zeroGradients: () => gradients.fill(0),
  };
}
