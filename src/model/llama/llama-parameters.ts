/**
 * Where each weight lives in the model's one flat parameter array. The order is Hugging Face's tensor
 * order within a layer, so q/k/v rows are adjacent (one packed projection) and so are gate/up; with
 * q/k/v biases (Qwen2) the three biases follow the three weights, adjacent too (one packed bias).
 */
import { createRandom } from "../../engine/index.js";
import type { LlamaConfig } from "./llama-config.js";

/** One named weight: Hugging Face name, shape, element offset and size in the flat array. */
export interface ParameterEntry {
  readonly name: string;
  readonly shape: readonly number[];
  readonly offset: number;
  readonly size: number;
  /** Norm weights and biases are exempt from weight decay by convention. */
  readonly kind: "matrix" | "norm" | "bias";
}

/** The layout of every weight, in storage order, and the total element count. */
export interface ParameterLayout {
  readonly entries: readonly ParameterEntry[];
  readonly totalSize: number;
}

/** Computes the flat layout for a config (same order as scripts/make-torch-fixtures.py). */
export function llamaParameterLayout(config: LlamaConfig): ParameterLayout {
  const d = config.hiddenSize;
  const headDimension = d / config.heads;
  const f = config.intermediateSize;
  const v = config.vocabularySize;
  const entries: ParameterEntry[] = [];
  let offset = 0;
  const add = (name: string, shape: number[], kind: ParameterEntry["kind"]) => {
    const size = shape.reduce((product, dimension) => product * dimension, 1);
    entries.push({ name, shape, offset, size, kind });
    offset += size;
  };
  add("model.embed_tokens.weight", [v, d], "matrix");
  for (let layer = 0; layer < config.layers; layer++) {
    const prefix = `model.layers.${layer}.`;
    add(`${prefix}input_layernorm.weight`, [d], "norm");
    add(`${prefix}self_attn.q_proj.weight`, [config.heads * headDimension, d], "matrix");
    add(`${prefix}self_attn.k_proj.weight`, [config.kvHeads * headDimension, d], "matrix");
    add(`${prefix}self_attn.v_proj.weight`, [config.kvHeads * headDimension, d], "matrix");
    if (config.queryKeyValueBias === true) {
      add(`${prefix}self_attn.q_proj.bias`, [config.heads * headDimension], "bias");
      add(`${prefix}self_attn.k_proj.bias`, [config.kvHeads * headDimension], "bias");
      add(`${prefix}self_attn.v_proj.bias`, [config.kvHeads * headDimension], "bias");
    }
    add(`${prefix}self_attn.o_proj.weight`, [d, config.heads * headDimension], "matrix");
    add(`${prefix}post_attention_layernorm.weight`, [d], "norm");
    add(`${prefix}mlp.gate_proj.weight`, [f, d], "matrix");
    add(`${prefix}mlp.up_proj.weight`, [f, d], "matrix");
    add(`${prefix}mlp.down_proj.weight`, [d, f], "matrix");
  }
  add("model.norm.weight", [d], "norm");
  if (!config.tieWordEmbeddings) {
    add("lm_head.weight", [v, d], "matrix");
  }
  return { entries, totalSize: offset };
}

/** The spans of `layout` exempt from weight decay (norm gains and biases), as AdamW's `noDecay` takes them. */
export function noDecaySpans(layout: readonly ParameterEntry[]): { offset: number; length: number }[] {
  return layout
    .filter((entry) => entry.kind !== "matrix")
    .map((entry) => ({ offset: entry.offset, length: entry.size }));
}

/**
 * Fills `parameters` as Hugging Face llama initialises: normal(0, initializerRange) for matrices in
 * layout order from `seed`, ones for norms, zeros for biases.
 */
export function initializeLlamaParameters(options: {
  parameters: Float32Array;
  layout: readonly ParameterEntry[];
  seed: number;
  initializerRange: number;
}): void {
  const { parameters, layout, seed, initializerRange } = options;
  const random = createRandom({ seed });
  for (const entry of layout) {
    const values = parameters.subarray(entry.offset, entry.offset + entry.size);
    if (entry.kind === "norm") {
      values.fill(1);
    } else if (entry.kind === "bias") {
      values.fill(0);
    } else {
      for (let index = 0; index < values.length; index++) {
        values[index] = random.nextNormal() * initializerRange;
      }
    }
  }
}
