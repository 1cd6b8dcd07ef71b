import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBlas } from "../engine/index.js";
import { ConfigError } from "../spec/errors.js";
import { testTokenizer } from "./__fixtures__/tiny-models.js";
import { loadCheckpoint } from "./checkpoint.js";
import { describeModel, exportModel, initializeModel } from "./model-directory.js";
import { saveTokenizer } from "./tokenizer/tokenizer.js";

const blas = createBlas({ backend: "typescript" });
let directory: string;
let tokenizerDirectory: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "model-directory-"));
  tokenizerDirectory = join(directory, "tokenizer");
  await saveTokenizer({ directory: tokenizerDirectory, ...testTokenizer() });
  await writeFile(join(tokenizerDirectory, "chat_template.jinja"), "{{ messages[0]['content'] }}");
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

const qwen2Config = {
  architectures: ["Qwen2ForCausalLM"],
  model_type: "qwen2",
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 1,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 336,
  max_position_embeddings: 128,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000,
  tie_word_embeddings: true,
  use_sliding_window: false,
};

describe("initializeModel", () => {
  it("creates a Qwen2 model from a config.json with zero q/k/v biases and the given tokenizer", async () => {
    const configPath = join(directory, "qwen2-config.json");
    await writeFile(configPath, JSON.stringify(qwen2Config));
    const out = join(directory, "qwen2");
    const result = await initializeModel({
      shape: configPath,
      tokenizer: { kind: "directory", directory: tokenizerDirectory },
      directory: out,
      blas,
      seed: 3,
    });
    expect(result.config).toMatchObject({ family: "qwen2", vocabularySize: 336, bosTokenId: 0, eosTokenIds: [0, 2] });
    const checkpoint = await loadCheckpoint({ directory: out });
    expect(Array.from(checkpoint.weights.get("model.layers.0.self_attn.q_proj.bias") ?? [1])).toEqual(
      Array(32).fill(0),
    );
    const projection = checkpoint.weights.get("model.layers.0.self_attn.q_proj.weight") as Float32Array;
    const deviation = Math.sqrt(projection.reduce((sum, value) => sum + value * value, 0) / projection.length);
    expect(deviation).toBeGreaterThan(0.015);
    expect(deviation).toBeLessThan(0.025);
    const description = await describeModel({ directory: out });
    expect(description.tokenizer).toMatchObject({ vocabularySize: 320, chatTemplate: true, ggufPreTokenizer: "gpt-2" });
    expect(description.ggufArchitecture).toBe("qwen2");
  });

  it("refuses a config.json with fewer embedding rows than the tokenizer has tokens", async () => {
    const configPath = join(directory, "small-vocabulary.json");
    await writeFile(configPath, JSON.stringify({ ...qwen2Config, vocab_size: 100 }));
    const failure = initializeModel({
      shape: configPath,
      tokenizer: { kind: "directory", directory: tokenizerDirectory },
      directory: join(directory, "never"),
      blas,
    });
    await expect(failure).rejects.toBeInstanceOf(ConfigError);
    await expect(failure).rejects.toThrow(/vocab_size 100 is smaller than the tokenizer's 320 tokens/);
  });

  it("exports to GGUF and to f16 safetensors", async () => {
    const out = join(directory, "preset");
    await initializeModel({
      shape: "tiny",
      tokenizer: { kind: "directory", directory: tokenizerDirectory },
      directory: out,
      blas,
    });
    const gguf = join(directory, "preset.gguf");
    expect((await exportModel({ directory: out, out: gguf, format: "gguf" })).files).toEqual([gguf]);
    const half = join(directory, "preset-f16");
    await exportModel({ directory: out, out: half, format: "safetensors", dtype: "F16" });
    expect((await describeModel({ directory: half })).dtypes).toEqual({ F16: 20 });
  });
});
