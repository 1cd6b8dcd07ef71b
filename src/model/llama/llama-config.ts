/**
 * Llama-family decoder configuration, mirroring the Hugging Face `config.json` fields, plus the presets
 * the project tests and benchmarks with. Reading and writing `config.json` itself is
 * `src/model/checkpoint-config.ts`.
 */
import { ConfigError } from "../../spec/errors.js";

/** Dimensions of a llama decoder (names spelled out; Hugging Face keys in each comment). */
export interface LlamaConfig {
  /** Model width (`hidden_size`). */
  hiddenSize: number;
  /** Decoder layers (`num_hidden_layers`). */
  layers: number;
  /** Query heads (`num_attention_heads`); head size = hiddenSize / heads. */
  heads: number;
  /** Key/value heads (`num_key_value_heads`); divides `heads` (grouped-query attention). */
  kvHeads: number;
  /** MLP width (`intermediate_size`). */
  intermediateSize: number;
  /** Vocabulary size (`vocab_size`). */
  vocabularySize: number;
  /** RoPE base (`rope_theta`), default 10000. */
  ropeTheta: number;
  /** RMSNorm epsilon (`rms_norm_eps`). */
  rmsNormEpsilon: number;
  /** Output head shares the embedding matrix (`tie_word_embeddings`). */
  tieWordEmbeddings: boolean;
  /** Longest sequence the rotary table covers (`max_position_embeddings`). */
  maxPositions: number;
  /** q, k and v projections carry biases (Qwen2, Qwen2.5). Default false (Llama, Mistral). */
  queryKeyValueBias?: boolean;
}

/** Named presets: `tiny` for tests, `small` for the throughput bench (5.25M parameters), `30m`. */
export const llamaPresets = {
  tiny: {
    hiddenSize: 64,
    layers: 2,
    heads: 4,
    kvHeads: 2,
    intermediateSize: 172,
    vocabularySize: 256,
    ropeTheta: 10000,
    rmsNormEpsilon: 1e-5,
    tieWordEmbeddings: true,
    maxPositions: 512,
  },
  small: {
    hiddenSize: 256,
    layers: 4,
    heads: 4,
    kvHeads: 4,
    intermediateSize: 1024,
    vocabularySize: 2048,
    ropeTheta: 10000,
    rmsNormEpsilon: 1e-5,
    tieWordEmbeddings: false,
    maxPositions: 1024,
  },
  "30m": {
    hiddenSize: 512,
    layers: 8,
    heads: 8,
    kvHeads: 8,
    intermediateSize: 1408,
    vocabularySize: 8192,
    ropeTheta: 10000,
    rmsNormEpsilon: 1e-5,
    tieWordEmbeddings: true,
    maxPositions: 1024,
  },
} as const satisfies Record<string, LlamaConfig>;

/** A preset name. */
export type LlamaPresetName = keyof typeof llamaPresets;

/** Throws ConfigError (naming the field) unless the dimensions are consistent. Returns the config. */
export function validateLlamaConfig(config: LlamaConfig, file?: string): LlamaConfig {
  const positive: (keyof LlamaConfig)[] = [
    "hiddenSize",
    "layers",
    "heads",
    "kvHeads",
    "intermediateSize",
    "vocabularySize",
    "maxPositions",
  ];
  for (const field of positive) {
    const value = config[field];
    if (typeof value !== "number" || !Number.isInteger(value) || value <= 0) {
      throw new ConfigError(`llama ${field} must be a positive integer, got ${String(value)}`, { field, file });
    }
  }
  if (config.hiddenSize % config.heads !== 0 || (config.hiddenSize / config.heads) % 2 !== 0) {
    throw new ConfigError(`llama hiddenSize ${config.hiddenSize} must split into ${config.heads} heads of even size`, {
      field: "heads",
      file,
    });
  }
  if (config.heads % config.kvHeads !== 0) {
    throw new ConfigError(`llama heads ${config.heads} must be a multiple of kvHeads ${config.kvHeads}`, {
      field: "kvHeads",
      file,
    });
  }
  for (const field of ["ropeTheta", "rmsNormEpsilon"] as const) {
    if (!Number.isFinite(config[field]) || config[field] <= 0) {
      throw new ConfigError(`llama ${field} must be a positive number, got ${config[field]}`, { field, file });
    }
  }
  return config;
}
