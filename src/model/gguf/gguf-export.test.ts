import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readGgufFileInfo } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InputError } from "../../spec/errors.js";
import { randomWeights, testTokenizer, tinyConfig } from "../__fixtures__/tiny-models.js";
import { trainByteLevelBpe } from "../tokenizer/byte-level-bpe-trainer.js";
import { createTokenizer } from "../tokenizer/tokenizer.js";
import { buildGgufModel, exportGguf, ggufTensorName, permuteForGgufRotary } from "./gguf-export.js";
import { detectPreTokenizer } from "./gguf-tokenizer-metadata.js";

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "gguf-export-"));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe("permuteForGgufRotary", () => {
  it("interleaves each head's two halves: row 2i + j comes from row j * d/2 + i", () => {
    // Two heads of dimension 4, one column: values are the source row numbers.
    const weight = Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(Array.from(permuteForGgufRotary({ weight, heads: 2, columns: 1 }))).toEqual([0, 2, 1, 3, 4, 6, 5, 7]);
    const wide = Float32Array.from([0, 0, 1, 1, 2, 2, 3, 3]);
    expect(Array.from(permuteForGgufRotary({ weight: wide, heads: 1, columns: 2 }))).toEqual([0, 0, 2, 2, 1, 1, 3, 3]);
  });
});

describe("buildGgufModel", () => {
  const tokenizer = testTokenizer();

  it("names tensors as llama.cpp does and keeps vectors f32 in an f16 file", () => {
    const config = tinyConfig({ layers: 1 });
    const contents = buildGgufModel({ config, weights: randomWeights({ config }), tokenizer, dtype: "f16" });
    expect(contents.tensors.map((tensor) => `${tensor.name}:${tensor.type}`)).toEqual([
      "token_embd.weight:f16",
      "blk.0.attn_norm.weight:f32",
      "blk.0.attn_q.weight:f16",
      "blk.0.attn_k.weight:f16",
      "blk.0.attn_v.weight:f16",
      "blk.0.attn_output.weight:f16",
      "blk.0.ffn_norm.weight:f32",
      "blk.0.ffn_gate.weight:f16",
      "blk.0.ffn_up.weight:f16",
      "blk.0.ffn_down.weight:f16",
      "output_norm.weight:f32",
      "output.weight:f16",
    ]);
    expect(contents.metadata["general.file_type"]).toEqual({ type: "uint32", value: 1 });
    expect(ggufTensorName("model.layers.3.self_attn.k_proj.bias")).toBe("blk.3.attn_k.bias");
  });

  it("writes the tokenizer as llama.cpp's converter does, padding unused ids", async () => {
    const config = tinyConfig({ vocabularySize: 330, tieWordEmbeddings: true });
    const path = join(directory, "padded.gguf");
    await exportGguf({ path, config, weights: randomWeights({ config }), tokenizer, name: "padded" });
    const info = await readGgufFileInfo(path, { logWarnings: false });
    const metadata = info.metadata as unknown as {
      general: { architecture: string; name: string };
      llama: Record<string, unknown>;
      tokenizer: { ggml: Record<string, unknown>; chat_template: string };
    };
    expect(metadata.general).toMatchObject({ architecture: "llama", name: "padded" });
    expect(metadata.llama).toMatchObject({
      block_count: 2,
      embedding_length: 64,
      context_length: 256,
      vocab_size: 330,
    });
    const ggml = metadata.tokenizer.ggml;
    expect(ggml).toMatchObject({ model: "gpt2", pre: "gpt-2", bos_token_id: 0, eos_token_id: 0, add_bos_token: false });
    const tokens = ggml.tokens as string[];
    expect(tokens).toHaveLength(330);
    expect(tokens.slice(0, 3)).toEqual(["<|endoftext|>", "<|im_start|>", "<|im_end|>"]);
    expect(tokens[329]).toBe("[PAD329]");
    expect((ggml.token_type as number[]).slice(0, 4)).toEqual([3, 3, 3, 1]);
    expect((ggml.token_type as number[])[329]).toBe(5);
    expect((ggml.merges as string[])[0]).toBe(tokenizer.tokenizerJson.model.merges[0]);
    expect(metadata.tokenizer.chat_template).toContain("<|im_start|>");
    expect(info.fullTensorInfo?.some((tensor) => tensor.name === "output.weight")).toBe(false);
  });

  it("refuses a tokenizer whose split llama.cpp does not know, and one larger than the model", () => {
    const trained = trainByteLevelBpe({ texts: ["hello hello"], vocabularySize: 270 });
    const odd = createTokenizer({
      ...trained,
      tokenizerJson: { ...trained.tokenizerJson, pre_tokenizer: { type: "Whitespace" } },
    });
    const config = tinyConfig({ vocabularySize: 270 });
    const weights = randomWeights({ config });
    expect(() => buildGgufModel({ config, weights, tokenizer: odd })).toThrow(InputError);
    expect(() => buildGgufModel({ config, weights, tokenizer: odd })).toThrow(
      /matches no pre-tokenizer llama.cpp knows/,
    );
    expect(() => buildGgufModel({ config: tinyConfig({ vocabularySize: 300 }), weights, tokenizer })).toThrow(
      /320 tokens but the model only 300/,
    );
  });

  it("recognises the published pre-tokenizers of SmolLM, Llama 3 and Qwen2", () => {
    expect(detectPreTokenizer({ type: "ByteLevel", add_prefix_space: false, use_regex: true })).toBe("gpt-2");
    expect(
      detectPreTokenizer({
        type: "Sequence",
        pretokenizers: [
          { type: "Digits", individual_digits: true },
          { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
        ],
      }),
    ).toBe("smollm");
    const split = (regex: string) => ({
      type: "Sequence",
      pretokenizers: [
        { type: "Split", pattern: { Regex: regex }, behavior: "Isolated", invert: false },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    });
    expect(
      detectPreTokenizer(
        split(
          "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
        ),
      ),
    ).toBe("llama-bpe");
    expect(
      detectPreTokenizer(
        split(
          "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
        ),
      ),
    ).toBe("qwen2");
    expect(detectPreTokenizer(split("\\s+"))).toBeUndefined();
  });
});
