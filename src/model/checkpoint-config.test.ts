import { describe, expect, it } from "vitest";
import { ConfigError } from "../spec/errors.js";
import { checkpointConfigToJson, parseCheckpointConfig } from "./checkpoint-config.js";
import { llamaPresets } from "./llama/llama-config.js";

/** Trimmed from the published SmolLM2-135M config. */
const SMOLLM2_135M = {
  architectures: ["LlamaForCausalLM"],
  attention_bias: false,
  attention_dropout: 0.0,
  bos_token_id: 0,
  eos_token_id: 0,
  hidden_act: "silu",
  hidden_size: 576,
  initializer_range: 0.041666666666666664,
  intermediate_size: 1536,
  max_position_embeddings: 8192,
  mlp_bias: false,
  model_type: "llama",
  num_attention_heads: 9,
  num_hidden_layers: 30,
  num_key_value_heads: 3,
  pretraining_tp: 1,
  rms_norm_eps: 1e-5,
  rope_scaling: null,
  rope_theta: 100000,
  tie_word_embeddings: true,
  torch_dtype: "bfloat16",
  use_cache: true,
  vocab_size: 49152,
};

const QWEN2 = {
  architectures: ["Qwen2ForCausalLM"],
  bos_token_id: 151643,
  eos_token_id: 151645,
  hidden_act: "silu",
  hidden_size: 896,
  intermediate_size: 4864,
  max_position_embeddings: 32768,
  max_window_layers: 21,
  model_type: "qwen2",
  num_attention_heads: 14,
  num_hidden_layers: 24,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000.0,
  sliding_window: 32768,
  tie_word_embeddings: true,
  use_sliding_window: false,
  vocab_size: 151936,
};

const MISTRAL = {
  architectures: ["MistralForCausalLM"],
  hidden_act: "silu",
  hidden_size: 4096,
  intermediate_size: 14336,
  max_position_embeddings: 32768,
  model_type: "mistral",
  num_attention_heads: 32,
  num_hidden_layers: 32,
  num_key_value_heads: 8,
  rms_norm_eps: 1e-5,
  rope_theta: 1000000.0,
  sliding_window: null,
  tie_word_embeddings: false,
  vocab_size: 32000,
  bos_token_id: 1,
  eos_token_id: 2,
};

function message(json: unknown): string {
  try {
    parseCheckpointConfig({ json, file: "/models/x/config.json" });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("expected a ConfigError");
}

describe("parseCheckpointConfig", () => {
  it("round-trips every training preset through config.json", () => {
    for (const preset of Object.values(llamaPresets)) {
      const config = {
        ...preset,
        family: "llama" as const,
        queryKeyValueBias: false,
        bosTokenId: undefined,
        eosTokenIds: [],
      };
      expect(parseCheckpointConfig({ json: checkpointConfigToJson(config) })).toMatchObject(preset);
    }
  });

  it("reads SmolLM2 as a tied llama", () => {
    expect(parseCheckpointConfig({ json: SMOLLM2_135M })).toEqual({
      family: "llama",
      hiddenSize: 576,
      layers: 30,
      heads: 9,
      kvHeads: 3,
      intermediateSize: 1536,
      vocabularySize: 49152,
      ropeTheta: 100000,
      rmsNormEpsilon: 1e-5,
      tieWordEmbeddings: true,
      queryKeyValueBias: false,
      maxPositions: 8192,
      bosTokenId: 0,
      eosTokenIds: [0],
    });
  });

  it("reads Qwen2 with q/k/v biases; its sliding_window is inert while use_sliding_window is false", () => {
    const config = parseCheckpointConfig({ json: QWEN2 });
    expect(config).toMatchObject({ family: "qwen2", queryKeyValueBias: true, kvHeads: 2, ropeTheta: 1e6 });
    expect(message({ ...QWEN2, use_sliding_window: true })).toMatch(/use_sliding_window: sliding-window attention/);
  });

  it("reads Mistral without a sliding window and refuses one that would mask", () => {
    expect(parseCheckpointConfig({ json: MISTRAL })).toMatchObject({ family: "mistral", eosTokenIds: [2] });
    expect(message({ ...MISTRAL, sliding_window: 4096 })).toBe(
      "/models/x/config.json: sliding_window: sliding-window attention (window 4096) is not supported; only Mistral checkpoints without a sliding window load",
    );
    // A window covering the whole context never masks anything.
    expect(parseCheckpointConfig({ json: { ...MISTRAL, sliding_window: 32768 } }).family).toBe("mistral");
  });

  it("refuses rope scaling it does not implement, naming the field and the type", () => {
    const text = message({ ...SMOLLM2_135M, rope_scaling: { rope_type: "llama3", factor: 8 } });
    expect(text).toContain("rope_scaling");
    expect(text).toContain('"llama3" is not implemented');
    expect(parseCheckpointConfig({ json: { ...SMOLLM2_135M, rope_scaling: { rope_type: "default" } } }).family).toBe(
      "llama",
    );
  });

  it("refuses unknown architectures and other unsupported features", () => {
    expect(message({ ...SMOLLM2_135M, model_type: "gpt2", architectures: ["GPT2LMHeadModel"] })).toMatch(
      /model_type: "gpt2" is not supported; supported: llama, mistral, qwen2/,
    );
    expect(message({ ...SMOLLM2_135M, hidden_act: "gelu" })).toMatch(/hidden_act: "gelu" is not supported/);
    expect(message({ ...SMOLLM2_135M, head_dim: 128 })).toMatch(/head_dim: 128 differs/);
    expect(message({ ...SMOLLM2_135M, attention_bias: true })).toMatch(/attention_bias/);
    expect(message({ ...SMOLLM2_135M, num_key_value_heads: 4 })).toMatch(/4 does not divide num_attention_heads 9/);
    expect(message({ ...SMOLLM2_135M, quantization_config: { bits: 4 } })).toMatch(/quantized/);
    expect(message({ ...SMOLLM2_135M, hidden_size: undefined })).toMatch(/hidden_size: must be a positive integer/);
  });

  it("writes a config.json that parses back to the same config", () => {
    for (const json of [SMOLLM2_135M, QWEN2, MISTRAL]) {
      const config = parseCheckpointConfig({ json });
      const written = checkpointConfigToJson(config);
      expect(parseCheckpointConfig({ json: written })).toEqual(config);
      expect(written.architectures).toEqual(json.architectures);
    }
  });
});
