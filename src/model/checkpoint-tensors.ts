/**
 * The tensors a llama-family checkpoint holds, by Hugging Face name, in the canonical order the
 * training decoder lays its parameters out (embedding, each block, final norm, untied head).
 */
import type { CheckpointConfig } from "./checkpoint-config.js";

/** What a tensor is, for initialisation and weight decay: a matrix, a norm gain or a bias. */
export type CheckpointTensorKind = "matrix" | "norm" | "bias";

/** One tensor a config requires. */
export interface CheckpointTensorSpec {
  /** Hugging Face name, e.g. `model.layers.0.self_attn.q_proj.weight`. */
  name: string;
  /** Row-major shape, outermost first ([out, in] for linear weights). */
  shape: number[];
  kind: CheckpointTensorKind;
}

/** Weights by Hugging Face tensor name, row-major float32. */
export type ModelWeights = Map<string, Float32Array>;

type ConfigShape = Pick<
  CheckpointConfig,
  | "hiddenSize"
  | "heads"
  | "kvHeads"
  | "layers"
  | "intermediateSize"
  | "vocabularySize"
  | "tieWordEmbeddings"
  | "queryKeyValueBias"
>;

/** Every tensor `config` requires, in canonical order; biases follow their weights. */
export function checkpointTensorSpecs(config: ConfigShape): CheckpointTensorSpec[] {
  const d = config.hiddenSize;
  const f = config.intermediateSize;
  const keyValueWidth = (config.kvHeads * d) / config.heads;
  const specs: CheckpointTensorSpec[] = [
    { name: "model.embed_tokens.weight", shape: [config.vocabularySize, d], kind: "matrix" },
  ];
  for (let layer = 0; layer < config.layers; layer++) {
    const prefix = `model.layers.${layer}.`;
    const projection = (name: string, rows: number): CheckpointTensorSpec[] => [
      { name: `${prefix}self_attn.${name}.weight`, shape: [rows, d], kind: "matrix" },
      ...(config.queryKeyValueBias
        ? [{ name: `${prefix}self_attn.${name}.bias`, shape: [rows], kind: "bias" as const }]
        : []),
    ];
    specs.push(
      { name: `${prefix}input_layernorm.weight`, shape: [d], kind: "norm" },
      ...projection("q_proj", d),
      ...projection("k_proj", keyValueWidth),
      ...projection("v_proj", keyValueWidth),
      { name: `${prefix}self_attn.o_proj.weight`, shape: [d, d], kind: "matrix" },
      { name: `${prefix}post_attention_layernorm.weight`, shape: [d], kind: "norm" },
      { name: `${prefix}mlp.gate_proj.weight`, shape: [f, d], kind: "matrix" },
      { name: `${prefix}mlp.up_proj.weight`, shape: [f, d], kind: "matrix" },
      { name: `${prefix}mlp.down_proj.weight`, shape: [d, f], kind: "matrix" },
    );
  }
  specs.push({ name: "model.norm.weight", shape: [d], kind: "norm" });
  if (!config.tieWordEmbeddings)
    specs.push({ name: "lm_head.weight", shape: [config.vocabularySize, d], kind: "matrix" });
  return specs;
}

/**
 * Tensors some exporters store although they are computed from the config, never trained: skipped on
 * load by this explicit list (a name suffix each). Any other tensor the layout does not place is refused.
 */
export const DERIVED_TENSOR_SUFFIXES: readonly string[] = [
  // Llama/Mistral/Qwen2 rotary frequencies 1 / theta^(2i/d), recomputed from rope_theta.
  "rotary_emb.inv_freq",
];

/** Whether `name` is a derived tensor (see {@link DERIVED_TENSOR_SUFFIXES}). */
export function isDerivedTensor(name: string): boolean {
  return DERIVED_TENSOR_SUFFIXES.some((suffix) => name === suffix || name.endsWith(`.${suffix}`));
}

/**
 * Returns the first element index where a stored `lm_head.weight` differs from the embeddings of a
 * tied model, or undefined when the two are equal value for value (the only way storing both is
 * harmless). A length mismatch reports index 0.
 */
export function tiedHeadMismatch({
  head,
  embedding,
}: {
  head: Float32Array;
  embedding: Float32Array;
}): number | undefined {
  if (head.length !== embedding.length) return 0;
  for (let index = 0; index < head.length; index++) {
    if (head[index] !== embedding[index]) return index;
  }
  return undefined;
}

/** The one-line refusal for a tied model whose stored head differs from its embeddings. */
export function tiedHeadMessage(index: number): string {
  return `lm_head.weight differs from model.embed_tokens.weight (first at element ${index}) but tie_word_embeddings is true; refusing to drop the stored head`;
}

/** The output head's weight: the embedding when tied, else `lm_head.weight`. */
export function outputHeadName(config: Pick<CheckpointConfig, "tieWordEmbeddings">): string {
  return config.tieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight";
}

/** Number of parameters `config` has (tied embeddings counted once). */
export function parameterCount(config: ConfigShape): number {
  return checkpointTensorSpecs(config).reduce(
    (total, spec) => total + spec.shape.reduce((product, dimension) => product * dimension, 1),
    0,
  );
}
