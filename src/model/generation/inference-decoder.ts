/**
 * The llama-family decoder for inference: forward only, one sequence, with a key/value cache so
 * each generated token costs one row of work instead of re-running the prompt. It reads the same
 * Hugging Face-named weights as the training decoder (no copy), Qwen2's q/k/v biases included, and
 * adds what generation needs and training does not: incremental attention over cached positions.
 */
import {
  type Blas,
  createRotaryTable,
  matmulForward,
  type RotaryTable,
  rmsNormForward,
  rotaryForward,
  type Tensor,
} from "../../engine/index.js";
import { type CheckpointConfig, headDimensionOf } from "../checkpoint-config.js";
import { checkpointTensorSpecs, type ModelWeights, outputHeadName } from "../checkpoint-tensors.js";

/** The decoder configuration inference needs (a checkpoint's; biases default to none). */
export type InferenceConfig = Omit<CheckpointConfig, "family" | "bosTokenId" | "eosTokenIds" | "queryKeyValueBias"> & {
  queryKeyValueBias?: boolean;
};

/** A model ready to run; sessions hold the per-sequence state. */
export interface InferenceDecoder {
  readonly config: InferenceConfig;
  /** A new empty sequence whose cache holds up to `capacity` tokens (default: the config's maxPositions). */
  createSession(options?: { capacity?: number }): DecoderSession;
}

/** One sequence: its cached keys and values. Not safe for concurrent use. */
export interface DecoderSession {
  /** Tokens in the cache. */
  readonly length: number;
  readonly capacity: number;
  /**
   * Runs `tokens` after the cached ones and caches them. Returns the logits of the last token
   * [vocabulary], or with `allLogits` of every new token [tokens, vocabulary] (row-major).
   * Throws RangeError when the cache would overflow or a token is out of range.
   */
  append(tokens: readonly number[], options?: { allLogits?: boolean }): Float32Array;
  /** Forgets cached tokens from `length` on, so a shared prefix can be reused. */
  truncate(length: number): void;
}

/** Prompt tokens processed per block: bounds the attention score buffer at block x capacity. */
const BLOCK_TOKENS = 64;

interface LayerWeights {
  inputNorm: Tensor;
  query: Tensor;
  key: Tensor;
  value: Tensor;
  queryBias: Float32Array | undefined;
  keyBias: Float32Array | undefined;
  valueBias: Float32Array | undefined;
  output: Tensor;
  postNorm: Tensor;
  gate: Tensor;
  up: Tensor;
  down: Tensor;
}

/** Binds `weights` (Hugging Face names, as loaded or as a training model's views) for inference. */
export function createInferenceDecoder({
  config,
  weights,
  blas,
}: {
  config: InferenceConfig;
  weights: ModelWeights;
  blas: Blas;
}): InferenceDecoder {
  const queryKeyValueBias = config.queryKeyValueBias ?? false;
  const shapes = new Map(
    checkpointTensorSpecs({ ...config, queryKeyValueBias }).map((spec) => [spec.name, spec.shape] as const),
  );
  const tensor = (name: string): Tensor => {
    const data = weights.get(name);
    const shape = shapes.get(name);
    if (!data || !shape) throw new RangeError(`inference weights lack ${name}`);
    if (data.length !== shape.reduce((product, dimension) => product * dimension, 1)) {
      throw new RangeError(`inference weight ${name} has ${data.length} values, expected shape [${shape.join(", ")}]`);
    }
    return { shape, data };
  };
  const layers: LayerWeights[] = [];
  for (let layer = 0; layer < config.layers; layer++) {
    const prefix = `model.layers.${layer}.`;
    const bias = (name: string) => (queryKeyValueBias ? tensor(`${prefix}self_attn.${name}.bias`).data : undefined);
    layers.push({
      inputNorm: tensor(`${prefix}input_layernorm.weight`),
      query: tensor(`${prefix}self_attn.q_proj.weight`),
      key: tensor(`${prefix}self_attn.k_proj.weight`),
      value: tensor(`${prefix}self_attn.v_proj.weight`),
      queryBias: bias("q_proj"),
      keyBias: bias("k_proj"),
      valueBias: bias("v_proj"),
      output: tensor(`${prefix}self_attn.o_proj.weight`),
      postNorm: tensor(`${prefix}post_attention_layernorm.weight`),
      gate: tensor(`${prefix}mlp.gate_proj.weight`),
      up: tensor(`${prefix}mlp.up_proj.weight`),
      down: tensor(`${prefix}mlp.down_proj.weight`),
    });
  }
  const embedding = tensor("model.embed_tokens.weight");
  const finalNorm = tensor("model.norm.weight");
  const head = tensor(outputHeadName(config));
  const tables = new Map<number, RotaryTable>();
  const rotaryTable = (capacity: number): RotaryTable => {
    let table = tables.get(capacity);
    if (!table) {
      table = createRotaryTable({
        headDimension: headDimensionOf(config),
        maxPositions: capacity,
        theta: config.ropeTheta,
      });
      tables.set(capacity, table);
    }
    return table;
  };
  const model = { config, layers, embedding, finalNorm, head, blas };
  return {
    config,
    createSession({ capacity = config.maxPositions } = {}) {
      if (!Number.isInteger(capacity) || capacity < 1)
        throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
      return createSession(model, capacity, rotaryTable(capacity));
    },
  };
}

interface BoundModel {
  config: InferenceConfig;
  layers: LayerWeights[];
  embedding: Tensor;
  finalNorm: Tensor;
  head: Tensor;
  blas: Blas;
}

function createSession(model: BoundModel, capacity: number, table: RotaryTable): DecoderSession {
  const { config, blas } = model;
  const d = config.hiddenSize;
  const headDimension = headDimensionOf(config);
  const keyValueWidth = config.kvHeads * headDimension;
  const groupSize = config.heads / config.kvHeads;
  const f = config.intermediateSize;
  const vocabulary = config.vocabularySize;
  const keys = model.layers.map(() => new Float32Array(capacity * keyValueWidth));
  const values = model.layers.map(() => new Float32Array(capacity * keyValueWidth));
  let length = 0;

  const block = (tokens: readonly number[], allLogits: boolean): Float32Array => {
    const rows = tokens.length;
    const start = length;
    const hidden = new Float32Array(rows * d);
    for (const [row, token] of tokens.entries()) {
      if (!Number.isInteger(token) || token < 0 || token >= vocabulary) {
        throw new RangeError(`token ${token} is outside the vocabulary of ${vocabulary}`);
      }
      hidden.set(model.embedding.data.subarray(token * d, (token + 1) * d), row * d);
    }
    const positions = Int32Array.from({ length: rows }, (_, row) => start + row);
    const normed: Tensor = { shape: [rows, d], data: new Float32Array(rows * d) };
    const inverseRms = new Float32Array(rows);
    const query: Tensor = { shape: [rows, d], data: new Float32Array(rows * d) };
    const key: Tensor = { shape: [rows, keyValueWidth], data: new Float32Array(rows * keyValueWidth) };
    const value: Tensor = { shape: [rows, keyValueWidth], data: new Float32Array(rows * keyValueWidth) };
    const attention: Tensor = { shape: [rows, d], data: new Float32Array(rows * d) };
    const gate: Tensor = { shape: [rows, f], data: new Float32Array(rows * f) };
    const up: Tensor = { shape: [rows, f], data: new Float32Array(rows * f) };
    const scores = new Float32Array(rows * (start + rows));
    const hiddenTensor: Tensor = { shape: [rows, d], data: hidden };
    const scale = 1 / Math.sqrt(headDimension);

    for (const [layerIndex, layer] of model.layers.entries()) {
      rmsNormForward({
        input: hiddenTensor,
        weight: layer.inputNorm,
        epsilon: config.rmsNormEpsilon,
        output: normed,
        inverseRms,
      });
      matmulForward({ blas, input: normed, weight: layer.query, output: query });
      matmulForward({ blas, input: normed, weight: layer.key, output: key });
      matmulForward({ blas, input: normed, weight: layer.value, output: value });
      addBias(query.data, layer.queryBias);
      addBias(key.data, layer.keyBias);
      addBias(value.data, layer.valueBias);
      rotaryForward({ table, data: query, positions, heads: config.heads });
      rotaryForward({ table, data: key, positions, heads: config.kvHeads });
      const layerKeys = keys[layerIndex] as Float32Array;
      const layerValues = values[layerIndex] as Float32Array;
      layerKeys.set(key.data, start * keyValueWidth);
      layerValues.set(value.data, start * keyValueWidth);
      const total = start + rows;
      for (let head = 0; head < config.heads; head++) {
        const group = Math.floor(head / groupSize);
        // scores [rows, total] = q_head [rows, hd] * k_group [total, hd]^T / sqrt(hd)
        blas.matrixMultiply({
          transposeB: true,
          m: rows,
          n: total,
          k: headDimension,
          alpha: scale,
          a: query.data,
          aOffset: head * headDimension,
          lda: d,
          b: layerKeys,
          bOffset: group * headDimension,
          ldb: keyValueWidth,
          c: scores,
          ldc: total,
        });
        causalSoftmax(scores, rows, total, start);
        blas.matrixMultiply({
          m: rows,
          n: headDimension,
          k: total,
          a: scores,
          lda: total,
          b: layerValues,
          bOffset: group * headDimension,
          ldb: keyValueWidth,
          c: attention.data,
          cOffset: head * headDimension,
          ldc: d,
        });
      }
      matmulForward({ blas, input: attention, weight: layer.output, output: hiddenTensor, accumulate: true });
      rmsNormForward({
        input: hiddenTensor,
        weight: layer.postNorm,
        epsilon: config.rmsNormEpsilon,
        output: normed,
        inverseRms,
      });
      matmulForward({ blas, input: normed, weight: layer.gate, output: gate });
      matmulForward({ blas, input: normed, weight: layer.up, output: up });
      for (let index = 0; index < gate.data.length; index++) {
        const g = gate.data[index] as number;
        gate.data[index] = (g / (1 + Math.exp(-g))) * (up.data[index] as number);
      }
      matmulForward({ blas, input: gate, weight: layer.down, output: hiddenTensor, accumulate: true });
    }
    length = start + rows;
    const outputRows = allLogits ? rows : 1;
    const last: Tensor = {
      shape: [outputRows, d],
      data: hidden.subarray((rows - outputRows) * d),
    };
    const lastNormed: Tensor = { shape: [outputRows, d], data: new Float32Array(outputRows * d) };
    rmsNormForward({
      input: last,
      weight: model.finalNorm,
      epsilon: config.rmsNormEpsilon,
      output: lastNormed,
      inverseRms: new Float32Array(outputRows),
    });
    const logits: Tensor = { shape: [outputRows, vocabulary], data: new Float32Array(outputRows * vocabulary) };
    matmulForward({ blas, input: lastNormed, weight: model.head, output: logits });
    return logits.data;
  };

  return {
    get length() {
      return length;
    },
    capacity,
    append(tokens, { allLogits = false } = {}) {
      if (tokens.length === 0) throw new RangeError("append needs at least one token");
      if (length + tokens.length > capacity) {
        throw new RangeError(
          `${length} cached + ${tokens.length} new tokens exceed the session capacity of ${capacity}`,
        );
      }
      if (!allLogits || tokens.length <= BLOCK_TOKENS) {
        let logits: Float32Array = new Float32Array(0);
        for (let offset = 0; offset < tokens.length; offset += BLOCK_TOKENS) {
          logits = block(tokens.slice(offset, offset + BLOCK_TOKENS), allLogits);
        }
        return logits;
      }
      const all = new Float32Array(tokens.length * vocabulary);
      for (let offset = 0; offset < tokens.length; offset += BLOCK_TOKENS) {
        all.set(block(tokens.slice(offset, offset + BLOCK_TOKENS), true), offset * vocabulary);
      }
      return all;
    },
    truncate(newLength) {
      if (!Number.isInteger(newLength) || newLength < 0 || newLength > length) {
        throw new RangeError(`cannot truncate a session of ${length} tokens to ${newLength}`);
      }
      length = newLength;
    },
  };
}

function addBias(rows: Float32Array, bias: Float32Array | undefined): void {
  if (!bias) return;
  for (let start = 0; start < rows.length; start += bias.length) {
    for (let index = 0; index < bias.length; index++)
      rows[start + index] = (rows[start + index] as number) + (bias[index] as number);
  }
}

/** Row r (absolute position start + r) attends to positions 0..start + r; later ones get probability 0. */
function causalSoftmax(scores: Float32Array, rows: number, total: number, start: number): void {
  for (let row = 0; row < rows; row++) {
    const offset = row * total;
    const visible = start + row + 1;
    let maximum = Number.NEGATIVE_INFINITY;
    for (let column = 0; column < visible; column++) maximum = Math.max(maximum, scores[offset + column] as number);
    let sum = 0;
    for (let column = 0; column < visible; column++) {
      const exponential = Math.exp((scores[offset + column] as number) - maximum);
      scores[offset + column] = exponential;
      sum += exponential;
    }
    for (let column = 0; column < visible; column++)
      scores[offset + column] = (scores[offset + column] as number) / sum;
    scores.fill(0, offset + visible, offset + total);
  }
}
