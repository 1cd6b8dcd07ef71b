/**
 * Activation and gradient buffers for one batch shape. Allocated once at the largest shape seen and
 * reused by every forward and backward pass: a smaller shape is carved out of the same buffers
 * (`within`), so no step allocates or clears activation memory.
 */
import {
  type AdapterDropout,
  attentionProbabilitiesSize,
  createTensor,
  ShapeError,
  type Tensor,
  type TensorMemory,
} from "../../engine/index.js";
import type { LlamaConfig } from "./llama-config.js";
import { type LoraSettings, loraTargetShape, orderedTargets } from "./llama-lora.js";
import { type CompactRows, isIdentityPacking, type RowPacking, unpackedRows } from "./llama-packing.js";

/** What one LoRA adapter saves for its backward pass. */
export interface AdapterActivations {
  /** lora_A's output [rows, rank]. */
  readonly hidden: Tensor;
  /** Dropout scales and the dropped input; absent when the adapter has no dropout. */
  readonly dropout?: AdapterDropout;
}

/**
 * What one decoder layer saves for its backward pass. Row-wise buffers hold the packed rows
 * (`LlamaWorkspace.packing`); q/k/v and the attention output hold the batch layout [batch * sequence].
 */
export interface LayerActivations {
  /** Layer input (residual stream) [packed rows, d]. */
  readonly input: Tensor;
  readonly attentionNormed: Tensor;
  readonly attentionInverseRms: Float32Array;
  /** Stacked q/k/v after rotary embedding, batch layout [batch rows, (heads + 2 kvHeads) * headDimension]. */
  readonly qkv: Tensor;
  readonly probabilities: Float32Array;
  /** Attention output [batch rows, heads * headDimension]; its first packed rows after packing. */
  readonly attention: Tensor;
  /** Residual stream after attention [rows, d]. */
  readonly middle: Tensor;
  readonly mlpNormed: Tensor;
  readonly mlpInverseRms: Float32Array;
  readonly gateUp: Tensor;
  readonly mlp: Tensor;
  /** One per adapter of the layer, in layer order of the targets (empty without LoRA). */
  readonly adapters: readonly AdapterActivations[];
}

/** Every buffer of a forward and backward pass at one batch shape. */
export interface LlamaWorkspace {
  readonly batchSize: number;
  readonly sequenceLength: number;
  /** batchSize * sequenceLength. */
  readonly rows: number;
  /** Which batch rows the row-wise buffers hold (the loss heads pack; forward() does not). */
  readonly packing: RowPacking;
  /** Tokens of the packed rows. */
  readonly tokens: Int32Array;
  /** Targets of the last loss call (negative = masked). */
  readonly targets: Int32Array;
  readonly positions: Int32Array;
  readonly layers: readonly LayerActivations[];
  /** Output of the last layer [rows, d]. */
  readonly finalHidden: Tensor;
  readonly finalNormed: Tensor;
  readonly finalInverseRms: Float32Array;
  /** Logits [rows, vocabulary]; loss ops overwrite them with probabilities, then with their gradient. */
  readonly logits: Tensor;
  /** The loss heads' final-normed rows that have a target, packed [rows, d] (first rows used). */
  readonly compactNormed: Float32Array;
  /** Which rows the loss heads packed, and their targets. */
  readonly compactRows: CompactRows;
  /** Per compact row: log-probability, then its gradient [rows]. */
  readonly compactValues: Float32Array;
  readonly residualGradient: Tensor;
  readonly normedGradient: Tensor;
  readonly qkvGradient: Tensor;
  readonly attentionGradient: Tensor;
  readonly gateUpGradient: Tensor;
  readonly mlpGradient: Tensor;
  readonly attentionScratch: Float32Array;
  readonly sequenceLosses: Float64Array;
  readonly tokenCounts: Int32Array;
  readonly tokenLogProbabilities: Float32Array;
  /** LoRA scratch: dL/d(lora_A output) [rows, rank] (empty without LoRA). */
  readonly adapterHiddenGradient: Tensor;
  /** LoRA dropout scratch: rows * max(hidden, intermediate) elements (empty without dropout). */
  readonly adapterInputScratch: Float32Array;
  /** Where a frozen norm's unused weight gradient goes [hidden] (LoRA trains no norm). */
  readonly frozenNormGradient: Tensor;
  /** The buffers taken from memory, in allocation order (a workspace made `within` another: its views). */
  readonly buffers: readonly (Float32Array | Int32Array)[];
  /**
   * Returns every buffer to the memory it came from; the workspace must not be used afterwards. A
   * workspace made `within` another owns nothing: releasing it frees nothing.
   */
  release(): void;
}

/**
 * Allocates the buffers for `batchSize` sequences of `sequenceLength` tokens from `memory`, or with
 * `within` (default none) takes them as views of that workspace's buffers, which must be at least as
 * large in batch and sequence (every buffer grows with both). Views keep stale values: every pass
 * writes a buffer before reading it.
 */
export function createLlamaWorkspace(options: {
  config: LlamaConfig;
  batchSize: number;
  sequenceLength: number;
  memory: TensorMemory;
  /** Adapters to hold activations for (default none). */
  lora?: LoraSettings;
  within?: LlamaWorkspace;
  /** The batch rows the row-wise buffers hold (default: every row, unpacked). */
  packing?: RowPacking;
}): LlamaWorkspace {
  const { config, batchSize, sequenceLength, memory, lora, within } = options;
  const packing = options.packing ?? unpackedRows({ batchSize, sequenceLength });
  if (within !== undefined && (within.batchSize < batchSize || within.sequenceLength < sequenceLength)) {
    throw new ShapeError(
      `llama workspace ${batchSize} x ${sequenceLength} does not fit within ${within.batchSize} x ${within.sequenceLength}`,
    );
  }
  const buffers: (Float32Array | Int32Array)[] = [];
  const owned: (Float32Array | Int32Array)[] = [];
  const take = <T extends Float32Array | Int32Array>(length: number, allocate: (length: number) => T): T => {
    const source = within?.buffers[buffers.length] as T | undefined;
    const array = source === undefined ? allocate(length) : (source.subarray(0, length) as T);
    if (array.length !== length) {
      throw new ShapeError(`llama workspace buffer ${buffers.length}: ${array.length} elements, needs ${length}`);
    }
    buffers.push(array);
    if (source === undefined) owned.push(array);
    return array;
  };
  const float32 = (length: number) => take(length, (size) => memory.allocate(size));
  const int32 = (length: number) => take(length, (size) => memory.allocateInt32(size));
  const batchRows = batchSize * sequenceLength;
  const rows = packing.rows;
  const d = config.hiddenSize;
  const headDimension = d / config.heads;
  const qkvWidth = (config.heads + 2 * config.kvHeads) * headDimension;
  const attentionWidth = config.heads * headDimension;
  const f = config.intermediateSize;
  const matrix = (columns: number) => createTensor({ shape: [rows, columns], data: float32(rows * columns) });
  const batchMatrix = (columns: number) =>
    createTensor({ shape: [batchRows, columns], data: float32(batchRows * columns) });
  const positions = int32(rows);
  for (let row = 0; row < rows; row++) {
    positions[row] = (packing.paddedOf[row] as number) % sequenceLength;
  }
  const probabilitiesSize = attentionProbabilitiesSize({
    batchSize,
    sequenceLength,
    heads: config.heads,
    kvHeads: config.kvHeads,
    headDimension,
  });
  const layers = Array.from({ length: config.layers }, () => ({
    input: matrix(d),
    attentionNormed: matrix(d),
    attentionInverseRms: float32(rows),
    qkv: batchMatrix(qkvWidth),
    probabilities: float32(probabilitiesSize),
    attention: batchMatrix(attentionWidth),
    middle: matrix(d),
    mlpNormed: matrix(d),
    mlpInverseRms: float32(rows),
    gateUp: matrix(2 * f),
    mlp: matrix(f),
    adapters: (lora === undefined ? [] : orderedTargets(lora)).map((target) => {
      const inFeatures = loraTargetShape(config, target).inFeatures;
      return {
        hidden: matrix(lora?.rank ?? 0),
        ...((lora?.dropout ?? 0) > 0
          ? { dropout: { scale: float32(rows * inFeatures), dropped: matrix(inFeatures) } }
          : {}),
      };
    }),
  }));
  const rank = lora?.rank ?? 0;
  const dropoutScratch = lora !== undefined && lora.dropout > 0 ? rows * Math.max(d, f) : 0;
  return {
    batchSize,
    sequenceLength,
    rows: batchRows,
    packing,
    tokens: int32(rows),
    targets: new Int32Array(batchRows),
    positions,
    layers,
    finalHidden: matrix(d),
    finalNormed: matrix(d),
    finalInverseRms: float32(rows),
    logits: matrix(config.vocabularySize),
    compactNormed: float32(rows * d),
    compactRows: {
      rowIndices: new Int32Array(rows),
      targets: new Int32Array(rows),
      sequenceStarts: new Int32Array(batchSize + 1),
    },
    compactValues: new Float32Array(rows),
    residualGradient: matrix(d),
    normedGradient: matrix(d),
    qkvGradient: batchMatrix(qkvWidth),
    attentionGradient: batchMatrix(attentionWidth),
    gateUpGradient: matrix(2 * f),
    mlpGradient: matrix(f),
    attentionScratch: float32(sequenceLength * sequenceLength),
    sequenceLosses: new Float64Array(batchSize),
    tokenCounts: new Int32Array(batchSize),
    tokenLogProbabilities: new Float32Array(batchRows),
    adapterHiddenGradient: matrix(rank),
    adapterInputScratch: float32(dropoutScratch),
    frozenNormGradient: createTensor({ shape: [d], data: float32(d) }),
    buffers,
    release: () => {
      for (const array of owned.splice(0)) {
        memory.release(array);
      }
    },
  };
}

/** Throws a ShapeError naming the field unless the batch is `batchSize` x `sequenceLength` tokens within `maxPositions`. */
export function checkBatchShape(options: {
  tokens: Int32Array;
  batchSize: number;
  sequenceLength: number;
  maxPositions: number;
}): { batchSize: number; sequenceLength: number } {
  const { tokens, batchSize, sequenceLength, maxPositions } = options;
  if (!Number.isInteger(batchSize) || !Number.isInteger(sequenceLength) || batchSize <= 0 || sequenceLength <= 0) {
    throw new ShapeError(
      `llama batch: batchSize ${batchSize} and sequenceLength ${sequenceLength} must be positive integers`,
    );
  }
  if (tokens.length !== batchSize * sequenceLength) {
    throw new ShapeError(`llama batch: ${tokens.length} tokens, expected ${batchSize} x ${sequenceLength}`);
  }
  if (sequenceLength > maxPositions) {
    throw new ShapeError(`llama batch: sequence of ${sequenceLength} exceeds maxPositions ${maxPositions}`);
  }
  return { batchSize, sequenceLength };
}

/** The workspace of the current batch shape, made from one set of buffers (see `workspaceFor`). */
export interface WorkspaceStore {
  /**
   * A workspace for `batchSize` x `sequenceLength` (rows packed as `packing`, default unpacked): the
   * last one when the shape is unchanged and unpacked, else views of one set of buffers at the
   * largest shape seen (grown, releasing the old set, when this shape does not fit).
   */
  workspaceFor(options: { batchSize: number; sequenceLength: number; packing?: RowPacking }): LlamaWorkspace;
}

/** A store for one model's workspaces in `memory`; `lora` (default none) as the model's. */
export function createWorkspaceStore(options: {
  config: LlamaConfig;
  memory: TensorMemory;
  lora?: LoraSettings;
}): WorkspaceStore {
  const { config, memory, lora } = options;
  const adapters = lora ? { lora } : {};
  let capacity: LlamaWorkspace | undefined;
  let current: LlamaWorkspace | undefined;
  return {
    workspaceFor({ batchSize, sequenceLength, packing }) {
      if (
        packing === undefined &&
        current?.batchSize === batchSize &&
        current.sequenceLength === sequenceLength &&
        isIdentityPacking(current.packing)
      ) {
        return current;
      }
      if (capacity === undefined || capacity.batchSize < batchSize || capacity.sequenceLength < sequenceLength) {
        const grown = {
          batchSize: Math.max(batchSize, capacity?.batchSize ?? 0),
          sequenceLength: Math.max(sequenceLength, capacity?.sequenceLength ?? 0),
        };
        capacity?.release();
        capacity = createLlamaWorkspace({ config, ...grown, memory, ...adapters });
      }
      current = createLlamaWorkspace({
        config,
        batchSize,
        sequenceLength,
        memory,
        ...adapters,
        within: capacity,
        ...(packing ? { packing } : {}),
      });
      return current;
    },
  };
}
