/**
 * Hugging Face `config.json` for the llama family: Llama, SmolLM (Llama with tied embeddings),
 * Mistral without a sliding window, and Qwen2 (q/k/v biases). Parsing refuses every feature the
 * decoder does not implement (sliding windows, rope scaling, other activations, extra biases,
 * quantization), naming the field, because silently ignoring one gives a model that loads and
 * then answers wrongly.
 */
import { readFile } from "node:fs/promises";
import { ConfigError } from "../spec/errors.js";
import type { LlamaConfig } from "./llama/llama-config.js";

/** Which Hugging Face architecture a checkpoint declares (`model_type`). */
export type CheckpointFamily = "llama" | "mistral" | "qwen2";

/**
 * The decoder's shape and constants, in the training decoder's field names, plus what a checkpoint
 * adds: family, q/k/v biases, context length and special token ids.
 */
export interface CheckpointConfig extends LlamaConfig {
  family: CheckpointFamily;
  /** q_proj, k_proj and v_proj carry biases (Qwen2). */
  queryKeyValueBias: boolean;
  bosTokenId: number | undefined;
  /** Token ids that end generation (config.json may give one or a list). */
  eosTokenIds: number[];
}

/** The Hugging Face class name written to `architectures` for each family. */
export const ARCHITECTURE_CLASS: Readonly<Record<CheckpointFamily, string>> = {
  llama: "LlamaForCausalLM",
  mistral: "MistralForCausalLM",
  qwen2: "Qwen2ForCausalLM",
};

const DEFAULT_MAX_POSITIONS: Readonly<Record<CheckpointFamily, number>> = {
  llama: 2048,
  mistral: 131072,
  qwen2: 32768,
};

/** Head dimension of a config (hiddenSize / heads). */
export function headDimensionOf(config: Pick<CheckpointConfig, "hiddenSize" | "heads">): number {
  return config.hiddenSize / config.heads;
}

/** Reads and parses `config.json` (a file, or a directory holding one). */
export async function readCheckpointConfig({ path }: { path: string }): Promise<CheckpointConfig> {
  const file = path.endsWith(".json") ? path : `${path.replace(/\/+$/, "")}/config.json`;
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new ConfigError(`cannot read ${file}: ${(error as Error).message}`, { file, cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${file} is not valid JSON: ${(error as Error).message}`, { file, cause: error });
  }
  return parseCheckpointConfig({ json, file });
}

/** Validates a parsed `config.json`; throws ConfigError naming `file` and the field on anything unsupported. */
export function parseCheckpointConfig({ json, file }: { json: unknown; file?: string }): CheckpointConfig {
  const where = file ?? "config.json";
  const fail = (field: string, message: string): never => {
    throw new ConfigError(`${where}: ${field}: ${message}`, { field, ...(file ? { file } : {}) });
  };
  if (typeof json !== "object" || json === null || Array.isArray(json)) return fail("(root)", "must be an object");
  const raw = json as Record<string, unknown>;
  const family = familyOf(raw, fail);

  const integer = (field: string, fallback?: number): number => {
    const value = raw[field] ?? fallback;
    if (typeof value !== "number" || !Number.isInteger(value) || value <= 0) {
      return fail(field, `must be a positive integer, got ${JSON.stringify(raw[field])}`);
    }
    return value;
  };
  const positiveNumber = (field: string, fallback: number): number => {
    const value = raw[field] ?? fallback;
    if (typeof value !== "number" || !(value > 0))
      return fail(field, `must be a positive number, got ${JSON.stringify(value)}`);
    return value;
  };

  const hiddenSize = integer("hidden_size");
  const heads = integer("num_attention_heads");
  const kvHeads = integer("num_key_value_heads", heads);
  if (hiddenSize % heads !== 0) fail("num_attention_heads", `${heads} does not divide hidden_size ${hiddenSize}`);
  if (heads % kvHeads !== 0) fail("num_key_value_heads", `${kvHeads} does not divide num_attention_heads ${heads}`);
  const headDimension = hiddenSize / heads;
  if (raw.head_dim !== undefined && raw.head_dim !== null && raw.head_dim !== headDimension) {
    fail(
      "head_dim",
      `${raw.head_dim} differs from hidden_size / num_attention_heads (${headDimension}); not supported`,
    );
  }
  if (headDimension % 2 !== 0)
    fail("hidden_size", `head dimension ${headDimension} must be even for rotary embeddings`);
  const activation = raw.hidden_act ?? "silu";
  if (activation !== "silu") fail("hidden_act", `${JSON.stringify(activation)} is not supported; only "silu" (SwiGLU)`);
  checkRopeScaling(raw.rope_scaling, fail);
  checkSlidingWindow(raw, family, fail);
  if (raw.quantization_config !== undefined && raw.quantization_config !== null) {
    fail("quantization_config", "quantized checkpoints are not supported; load the unquantized weights");
  }
  if (raw.mlp_bias === true) fail("mlp_bias", "MLP biases are not supported");
  if (family !== "qwen2" && raw.attention_bias === true) {
    fail("attention_bias", "attention biases (including o_proj) are only supported as Qwen2's q/k/v biases");
  }
  const tie = raw.tie_word_embeddings ?? false;
  if (typeof tie !== "boolean") fail("tie_word_embeddings", "must be true or false");
  const bos = raw.bos_token_id;
  if (bos !== undefined && bos !== null && !Number.isInteger(bos)) fail("bos_token_id", "must be an integer");
  const eos = raw.eos_token_id;
  const eosTokenIds = eos === undefined || eos === null ? [] : Array.isArray(eos) ? eos : [eos];
  if (eosTokenIds.some((id) => !Number.isInteger(id))) fail("eos_token_id", "must be an integer or a list of integers");

  return {
    family,
    hiddenSize,
    layers: integer("num_hidden_layers"),
    heads,
    kvHeads,
    intermediateSize: integer("intermediate_size"),
    vocabularySize: integer("vocab_size"),
    ropeTheta: positiveNumber("rope_theta", 10000),
    rmsNormEpsilon: positiveNumber("rms_norm_eps", 1e-6),
    tieWordEmbeddings: tie as boolean,
    queryKeyValueBias: family === "qwen2",
    maxPositions: integer("max_position_embeddings", DEFAULT_MAX_POSITIONS[family]),
    bosTokenId: typeof bos === "number" ? bos : undefined,
    eosTokenIds: eosTokenIds as number[],
  };
}

function familyOf(raw: Record<string, unknown>, fail: (field: string, message: string) => never): CheckpointFamily {
  const families = Object.keys(ARCHITECTURE_CLASS) as CheckpointFamily[];
  const modelType = raw.model_type;
  const architectures = raw.architectures;
  if (modelType !== undefined) {
    if (!families.includes(modelType as CheckpointFamily)) {
      fail("model_type", `${JSON.stringify(modelType)} is not supported; supported: ${families.join(", ")}`);
    }
  }
  const fromArchitecture =
    Array.isArray(architectures) && typeof architectures[0] === "string"
      ? families.find((family) => ARCHITECTURE_CLASS[family] === architectures[0])
      : undefined;
  if (Array.isArray(architectures) && architectures.length > 0 && fromArchitecture === undefined) {
    fail(
      "architectures",
      `${JSON.stringify(architectures[0])} is not supported; supported: ${Object.values(ARCHITECTURE_CLASS).join(", ")}`,
    );
  }
  const family = (modelType as CheckpointFamily | undefined) ?? fromArchitecture;
  if (family === undefined) return fail("model_type", "missing (and no architectures entry to infer it from)");
  if (fromArchitecture !== undefined && fromArchitecture !== family) {
    fail("architectures", `${ARCHITECTURE_CLASS[fromArchitecture]} contradicts model_type ${family}`);
  }
  return family;
}

function checkRopeScaling(scaling: unknown, fail: (field: string, message: string) => never): void {
  if (scaling === undefined || scaling === null) return;
  if (typeof scaling !== "object") fail("rope_scaling", "must be an object or null");
  const record = scaling as Record<string, unknown>;
  const type = record.rope_type ?? record.type;
  if (type === "default") return;
  fail(
    "rope_scaling",
    `rope scaling type ${JSON.stringify(type)} is not implemented (only unscaled rotary embeddings); positions would be wrong, so the checkpoint is refused`,
  );
}

function checkSlidingWindow(
  raw: Record<string, unknown>,
  family: CheckpointFamily,
  fail: (field: string, message: string) => never,
): void {
  const window = raw.sliding_window;
  if (family === "qwen2") {
    // Qwen2 configs always carry a window size; it applies only when use_sliding_window is true.
    if (raw.use_sliding_window === true) fail("use_sliding_window", "sliding-window attention is not supported");
    return;
  }
  if (window === undefined || window === null) return;
  const positions = raw.max_position_embeddings;
  // A window at least as long as the context never masks anything: full attention is the same model.
  if (typeof window === "number" && typeof positions === "number" && window >= positions) return;
  fail(
    "sliding_window",
    `sliding-window attention (window ${JSON.stringify(window)}) is not supported; only Mistral checkpoints without a sliding window load`,
  );
}

/** The `config.json` Hugging Face transformers reads for `config` (what `save_pretrained` would write). */
export function checkpointConfigToJson(config: CheckpointConfig): Record<string, unknown> {
  const json: Record<string, unknown> = {
    architectures: [ARCHITECTURE_CLASS[config.family]],
    model_type: config.family,
    hidden_size: config.hiddenSize,
    intermediate_size: config.intermediateSize,
    num_hidden_layers: config.layers,
    num_attention_heads: config.heads,
    num_key_value_heads: config.kvHeads,
    head_dim: headDimensionOf(config),
    vocab_size: config.vocabularySize,
    max_position_embeddings: config.maxPositions,
    rms_norm_eps: config.rmsNormEpsilon,
    rope_theta: config.ropeTheta,
    rope_scaling: null,
    hidden_act: "silu",
    tie_word_embeddings: config.tieWordEmbeddings,
    attention_dropout: 0,
    initializer_range: 0.02,
    use_cache: true,
    torch_dtype: "float32",
  };
  if (config.family === "llama") Object.assign(json, { attention_bias: false, mlp_bias: false, pretraining_tp: 1 });
  if (config.family === "mistral") json.sliding_window = null;
  if (config.family === "qwen2") Object.assign(json, { use_sliding_window: false, sliding_window: null });
  if (config.bosTokenId !== undefined) json.bos_token_id = config.bosTokenId;
  if (config.eosTokenIds.length > 0) {
    json.eos_token_id = config.eosTokenIds.length === 1 ? config.eosTokenIds[0] : config.eosTokenIds;
  }
  return json;
}
