/**
 * Parity with llama.cpp, an independent implementation of the same network: our GGUF export run by
 * node-llama-cpp must give the probabilities, greedy text and token ids our engine gives.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getLlama, type Llama, LlamaLogLevel, type LlamaModel, readGgufFileInfo, type Token } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBlas } from "../../engine/index.js";
import { VARIED_TEXT } from "../__fixtures__/sample-texts.js";
import {
  clearMarginWeights,
  randomWeights,
  sentencePieceStyleTokenizer,
  testTokenizer,
  tinyConfig,
} from "../__fixtures__/tiny-models.js";
import type { CheckpointConfig } from "../checkpoint-config.js";
import type { ModelWeights } from "../checkpoint-tensors.js";
import { generateText } from "../generation/generate.js";
import { createInferenceDecoder } from "../generation/inference-decoder.js";
import { createLlamaModel } from "../llama/index.js";
import { copyWeightsIntoModel } from "../llama-weights.js";
import { createTokenizer } from "../tokenizer/tokenizer.js";
import { exportGguf } from "./gguf-export.js";
import type { GgufTensorType } from "./gguf-writer.js";

const blas = createBlas({ backend: "typescript" });
const tokenizer = testTokenizer();
let directory: string;
let llama: Llama;
const loaded: LlamaModel[] = [];

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "llama-cpp-parity-"));
  llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
});
afterAll(async () => {
  for (const model of loaded) await model.dispose();
  await rm(directory, { recursive: true, force: true });
});

async function exportAndLoad({
  config,
  weights,
  dtype = "f32",
  name,
}: {
  config: CheckpointConfig;
  weights: ModelWeights;
  dtype?: GgufTensorType;
  name: string;
}): Promise<{ model: LlamaModel; path: string }> {
  const path = join(directory, `${name}.gguf`);
  await exportGguf({ path, config, weights, tokenizer, dtype, name });
  const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
  loaded.push(model);
  return { model, path };
}

/** llama.cpp's next-token distribution after each prefix of `tokens` (teacher forcing). */
async function llamaCppProbabilities(model: LlamaModel, tokens: readonly number[]): Promise<Float32Array[]> {
  const context = await model.createContext({
    contextSize: 256,
    threads: 1,
    // Exact attention: the default f16 key/value cache and the CPU flash-attention path (which
    // rounds through f16) each move probabilities by ~1e-4; without them the gap is ~1e-7.
    flashAttention: false,
    experimentalKvCacheKeyType: "F32",
    experimentalKvCacheValueType: "F32",
  });
  try {
    const sequence = context.getSequence();
    const input = tokens.map((token) => [token as Token, { generateNext: { probabilities: true } }] as const);
    const output = await sequence.controlledEvaluate(input.map(([token, options]) => [token, options]));
    return output.map((item, position) => {
      const probabilities = item?.next.probabilities;
      if (!probabilities) throw new Error(`llama.cpp returned no probabilities at position ${position}`);
      const row = new Float32Array(tokenizer.vocabularySize);
      for (const [token, probability] of probabilities) row[token] = probability;
      return row;
    });
  } finally {
    await context.dispose();
  }
}

function softmax(logits: Float32Array): Float32Array {
  let maximum = Number.NEGATIVE_INFINITY;
  for (const value of logits) maximum = Math.max(maximum, value);
  let sum = 0;
  const output = new Float32Array(logits.length);
  for (let index = 0; index < logits.length; index++) {
    output[index] = Math.exp((logits[index] as number) - maximum);
    sum += output[index] as number;
  }
  for (let index = 0; index < output.length; index++) output[index] = (output[index] as number) / sum;
  return output;
}

function worstDifference(ours: Float32Array[], theirs: Float32Array[]): number {
  let worst = 0;
  for (const [position, row] of ours.entries()) {
    const other = theirs[position] as Float32Array;
    for (let index = 0; index < row.length; index++) {
      worst = Math.max(worst, Math.abs((row[index] as number) - (other[index] as number)));
    }
  }
  return worst;
}

const textTokens = tokenizer.encode(VARIED_TEXT);

describe("teacher-forced next-token probabilities match llama.cpp", () => {
  it("has a varied text of at least 33 tokens to score", () => {
    expect(textTokens.length).toBeGreaterThanOrEqual(33);
  });

  for (const family of ["llama", "qwen2"] as const) {
    it(`agree within 1e-4 at every position for a random ${family} model exported to f32 GGUF`, async () => {
      const config = tinyConfig({
        family,
        queryKeyValueBias: family === "qwen2",
        tieWordEmbeddings: family === "llama",
      });
      const weights = randomWeights({ config, seed: family === "llama" ? 11 : 12, scale: 0.15 });
      const { model } = await exportAndLoad({ config, weights, name: `random-${family}` });
      const theirs = await llamaCppProbabilities(model, textTokens);
      const decoder = createInferenceDecoder({ config, weights, blas });
      const logits = decoder.createSession().append(textTokens, { allLogits: true });
      const ours = textTokens.map((_, position) =>
        softmax(logits.subarray(position * config.vocabularySize, (position + 1) * config.vocabularySize)),
      );
      expect(ours).toHaveLength(theirs.length);
      expect(ours.length).toBeGreaterThanOrEqual(32);
      // A spread-out distribution, so agreement is not trivially about one token at ~1.
      expect(Math.max(...(ours[5] as Float32Array))).toBeLessThan(0.5);
      expect(worstDifference(ours, theirs)).toBeLessThan(1e-4);

      // The training decoder (with Qwen2's q/k/v biases) gives the same distributions as llama.cpp.
      const training = createLlamaModel({ config, blas });
      copyWeightsIntoModel({ model: training, weights });
      const trainingLogits = training.forward({
        tokens: Int32Array.from(textTokens),
        batchSize: 1,
        sequenceLength: textTokens.length,
      }).data;
      const trainingProbabilities = textTokens.map((_, position) =>
        softmax(trainingLogits.subarray(position * config.vocabularySize, (position + 1) * config.vocabularySize)),
      );
      expect(worstDifference(trainingProbabilities, theirs)).toBeLessThan(1e-4);
    });
  }

  it("stay close for an f16 export, whose matrices are half precision and norms f32", async () => {
    const config = tinyConfig();
    const weights = randomWeights({ config, seed: 13, scale: 0.15 });
    const { model, path } = await exportAndLoad({ config, weights, dtype: "f16", name: "random-f16" });
    const info = await readGgufFileInfo(path, { logWarnings: false });
    const types = new Map(info.fullTensorInfo?.map((tensor) => [tensor.name, tensor.ggmlType]));
    expect(types.get("blk.0.attn_q.weight")).toBe(1);
    expect(types.get("blk.0.attn_norm.weight")).toBe(0);
    const theirs = await llamaCppProbabilities(model, textTokens.slice(0, 16));
    const logits = createInferenceDecoder({ config, weights, blas })
      .createSession()
      .append(textTokens.slice(0, 16), { allLogits: true });
    const ours = theirs.map((_, position) =>
      softmax(logits.subarray(position * config.vocabularySize, (position + 1) * config.vocabularySize)),
    );
    expect(worstDifference(ours, theirs)).toBeLessThan(2e-3);
  });
});

describe("greedy continuations match llama.cpp", () => {
  it("gives the same 32 tokens on a model with clear margins", async () => {
    const config = tinyConfig({ tieWordEmbeddings: false });
    const weights = clearMarginWeights({ config });
    const { model } = await exportAndLoad({ config, weights, name: "clear-margin" });
    const prompt = tokenizer.encode("The quick brown fox");
    const ours = await generateText({
      decoder: createInferenceDecoder({ config, weights, blas }),
      tokenizer,
      promptTokens: prompt,
      maxTokens: 32,
      temperature: 0,
    });
    expect(ours.tokens).toHaveLength(32);
    const context = await model.createContext({ contextSize: 128, threads: 1 });
    try {
      const theirs: number[] = [];
      for await (const token of context.getSequence().evaluate(prompt as Token[], { temperature: 0 })) {
        theirs.push(token);
        if (theirs.length === 32) break;
      }
      expect(theirs).toEqual(ours.tokens);
      expect(model.detokenize(theirs as Token[])).toBe(ours.text);
    } finally {
      await context.dispose();
    }
  });
});

describe("tokenizer parity with llama.cpp", () => {
  it("gives the same ids for accents, emoji, digits, whitespace runs and special tokens", async () => {
    const config = tinyConfig();
    const { model } = await exportAndLoad({ config, weights: randomWeights({ config }), name: "tokenizer" });
    const samples = [
      VARIED_TEXT,
      "  leading and trailing  ",
      "\n\n\t x  y\r\n",
      "100000 1.5e-3 ¼ ½",
      "ÀÉÎÕÜ ñ ç ß œ",
      "👨‍👩‍👧 🏳️‍🌈",
    ];
    for (const text of samples) {
      expect(Array.from(model.tokenize(text, true)), JSON.stringify(text)).toEqual(tokenizer.encode(text));
    }
    expect(model.tokenize(VARIED_TEXT, true)).toContain(2);
  });

  // The same vocabulary behind the pre-tokenizers of published models: each must split text the way
  // the llama.cpp pre-tokenizer it exports as does.
  const split = (regex: string) => ({
    type: "Sequence",
    pretokenizers: [
      { type: "Split", pattern: { Regex: regex }, behavior: "Isolated", invert: false },
      { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
    ],
  });
  const variants = {
    smollm: {
      type: "Sequence",
      pretokenizers: [
        { type: "Digits", individual_digits: true },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
      ],
    },
    "llama-bpe": split(
      "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ),
    qwen2: split(
      "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ),
  };
  for (const [name, preTokenizer] of Object.entries(variants)) {
    it(`gives the same ids with the ${name} pre-tokenizer`, async () => {
      const variant = createTokenizer({
        tokenizerJson: { ...tokenizer.tokenizerJson, pre_tokenizer: preTokenizer },
        tokenizerConfig: { ...tokenizer.tokenizerConfig },
      });
      const config = tinyConfig();
      const path = join(directory, `pre-${name}.gguf`);
      await exportGguf({ path, config, weights: randomWeights({ config }), tokenizer: variant, name });
      const info = await readGgufFileInfo(path, { logWarnings: false });
      expect((info.metadata as unknown as { tokenizer: { ggml: { pre: string } } }).tokenizer.ggml.pre).toBe(name);
      const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
      loaded.push(model);
      for (const text of [VARIED_TEXT, "It's 12345 o'clock!!  \n\n  ok", "ÀÉÎÕÜ ñ ç ß œ 👨‍👩‍👧"]) {
        expect(Array.from(model.tokenize(text, true)), JSON.stringify(text)).toEqual(variant.encode(text));
      }
    });
  }

  it("gives the same ids for a SentencePiece-style tokenizer (Llama 2, Mistral layout) exported as llama.cpp's llama model", async () => {
    const sentencePiece = sentencePieceStyleTokenizer();
    const config = tinyConfig({ vocabularySize: sentencePiece.vocabularySize, bosTokenId: 1, eosTokenIds: [2] });
    const path = join(directory, "sentence-piece.gguf");
    await exportGguf({ path, config, weights: randomWeights({ config }), tokenizer: sentencePiece, name: "spm" });
    const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
    loaded.push(model);
    const samples = [
      "The quick brown fox jumps over the lazy dog.",
      "  Whitespace   runs\t\ttabs\n\nnewlines ",
      "Accents: café, naïve, Zürich; emoji 🙂🚀 and 你好",
      "It's what they'd say</s> after 2024-06-01",
    ];
    for (const text of samples) {
      expect(Array.from(model.tokenize(text, true)), JSON.stringify(text)).toEqual(sentencePiece.encode(text));
    }
    expect(sentencePiece.encode(samples[0] as string, { addSpecialTokens: true })[0]).toBe(1);
    expect(model.tokens.bos).toBe(1);
  });
});
