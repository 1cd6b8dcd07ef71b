/**
 * A merged LoRA checkpoint against llama.cpp: the base (Qwen2, with q/k/v biases) plus an adapter on
 * every projection, merged, exported to GGUF and run by node-llama-cpp, gives the next-token
 * probabilities of `local:` (merged directory) and of the training decoder running the adapters
 * unmerged within 1e-4, and on a clear-margin model the same greedy text as `local:<merged>` and
 * `local:<adapter>`.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getLlama, type Llama, type LlamaModel as LlamaCppModel, LlamaLogLevel, type Token } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBlas } from "../engine/index.js";
import { VARIED_TEXT } from "../model/__fixtures__/sample-texts.js";
import { clearMarginWeights, randomWeights, testTokenizer, tinyConfig } from "../model/__fixtures__/tiny-models.js";
import { loadCheckpoint, saveCheckpoint } from "../model/checkpoint.js";
import type { ModelWeights } from "../model/checkpoint-tensors.js";
import { createInferenceDecoder } from "../model/generation/inference-decoder.js";
import { exportGguf } from "../model/gguf/gguf-export.js";
import { createLlamaModel, type LlamaModel, LORA_TARGETS } from "../model/llama/index.js";
import { copyWeightsIntoModel } from "../model/llama-weights.js";
import { loraAdapterOfModel, mergeLoraWeights, writeLoraAdapter } from "../model/lora-adapter.js";
import { loadTokenizer, saveTokenizer } from "../model/tokenizer/tokenizer.js";
import { createLocalModel } from "./local-model.js";

const blas = createBlas({ backend: "typescript" });
const tokenizer = testTokenizer();
const config = tinyConfig({
  family: "qwen2",
  queryKeyValueBias: true,
  tieWordEmbeddings: false,
  vocabularySize: tokenizer.vocabularySize,
});
let directory: string;
let llama: Llama;
const loaded: LlamaCppModel[] = [];

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "lora-llama-cpp-"));
  llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
});
afterAll(async () => {
  for (const model of loaded) await model.dispose();
  await rm(directory, { recursive: true, force: true });
});

/** Writes base/, adapter/ and merged/ under `name`; returns the training model (adapters unmerged) and the GGUF of merged/. */
async function prepare(name: string, base: ModelWeights, adapterScale: number) {
  const root = join(directory, name);
  const training = createLlamaModel({
    config,
    blas,
    lora: { rank: 4, alpha: 8, dropout: 0, targets: [...LORA_TARGETS] },
  });
  copyWeightsIntoModel({ model: training, weights: base });
  training.trainable.parameters.forEach((_, index, values) => {
    values[index] = Math.sin(index * 0.37) * adapterScale;
  });
  const merged = mergeLoraWeights({ weights: base, adapter: loraAdapterOfModel({ model: training, baseModel: "" }) });
  for (const [folder, weights] of [
    ["base", base],
    ["merged", merged],
  ] as const) {
    await saveCheckpoint({ directory: join(root, folder), config, weights });
    await saveTokenizer({ directory: join(root, folder), ...tokenizer });
  }
  await mkdir(join(root, "adapter"));
  await writeLoraAdapter({ directory: join(root, "adapter"), model: training, baseModel: "../base" });
  // As `model export --format gguf` does: the merged directory's checkpoint and tokenizer.
  const checkpoint = await loadCheckpoint({ directory: join(root, "merged") });
  const path = join(root, "merged.gguf");
  await exportGguf({
    path,
    config: checkpoint.config,
    weights: checkpoint.weights,
    tokenizer: await loadTokenizer({ directory: join(root, "merged") }),
    dtype: "f32",
    name,
  });
  const gguf = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
  loaded.push(gguf);
  return { root, training, checkpoint, gguf };
}

async function llamaCppProbabilities(model: LlamaCppModel, tokens: readonly number[]): Promise<Float32Array[]> {
  const context = await model.createContext({
    contextSize: 256,
    threads: 1,
    flashAttention: false,
    experimentalKvCacheKeyType: "F32",
    experimentalKvCacheValueType: "F32",
  });
  try {
    const output = await context
      .getSequence()
      .controlledEvaluate(tokens.map((token) => [token as Token, { generateNext: { probabilities: true } }]));
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

function softmaxRows(logits: Float32Array, rows: number): Float32Array[] {
  const width = config.vocabularySize;
  return Array.from({ length: rows }, (_, row) => {
    const slice = logits.subarray(row * width, (row + 1) * width);
    const maximum = Math.max(...slice);
    const output = Float32Array.from(slice, (value) => Math.exp(value - maximum));
    const sum = output.reduce((total, value) => total + value, 0);
    return output.map((value) => value / sum);
  });
}

function worstDifference(ours: Float32Array[], theirs: Float32Array[]): number {
  let worst = ours.length === theirs.length ? 0 : Number.POSITIVE_INFINITY;
  ours.forEach((row, position) => {
    row.forEach((value, index) => {
      worst = Math.max(worst, Math.abs(value - (theirs[position]?.[index] ?? Number.NaN)));
    });
  });
  return worst;
}

function unmergedProbabilities(training: LlamaModel, tokens: readonly number[]): Float32Array[] {
  const logits = training.forward({ tokens: Int32Array.from(tokens), batchSize: 1, sequenceLength: tokens.length });
  return softmaxRows(logits.data, tokens.length);
}

describe("a merged LoRA checkpoint in llama.cpp", () => {
  it("gives local:'s and the unmerged adapters' next-token probabilities within 1e-4 (spread-out model)", async () => {
    const { training, checkpoint, gguf } = await prepare(
      "random",
      randomWeights({ config, seed: 12, scale: 0.15 }),
      0.1,
    );
    const tokens = tokenizer.encode(VARIED_TEXT);
    const theirs = await llamaCppProbabilities(gguf, tokens);
    const local = createInferenceDecoder({ config: checkpoint.config, weights: checkpoint.weights, blas });
    const ours = softmaxRows(local.createSession().append(tokens, { allLogits: true }), tokens.length);
    const unmerged = unmergedProbabilities(training, tokens);
    expect(Math.max(...(ours[5] as Float32Array))).toBeLessThan(0.5);
    expect(worstDifference(ours, theirs)).toBeLessThan(1e-4);
    expect(worstDifference(unmerged, theirs)).toBeLessThan(1e-4);
    // The adapter matters: the base alone is far from these distributions.
    const base = createInferenceDecoder({ config, weights: randomWeights({ config, seed: 12, scale: 0.15 }), blas });
    const baseProbabilities = softmaxRows(base.createSession().append(tokens, { allLogits: true }), tokens.length);
    expect(worstDifference(baseProbabilities, theirs)).toBeGreaterThan(1e-2);
  });

  it("gives the same greedy text as local:<merged> and local:<adapter> on a clear-margin model", async () => {
    const { root, training, gguf } = await prepare("clear", clearMarginWeights({ config }), 0.02);
    const prompt = tokenizer.encode("The quick brown fox");
    const context = await gguf.createContext({ contextSize: 128, threads: 1 });
    const theirs: number[] = [];
    try {
      for await (const token of context.getSequence().evaluate(prompt as Token[], { temperature: 0 })) {
        theirs.push(token);
        if (theirs.length === 32) break;
      }
    } finally {
      await context.dispose();
    }
    const text = gguf.detokenize(theirs as Token[]);
    for (const folder of ["merged", "adapter"]) {
      const local = await createLocalModel({ directory: join(root, folder), blas });
      try {
        const result = await local.generate({ prompt: "The quick brown fox", sampling: { maxTokens: 32 } });
        expect(result.text, folder).toBe(text);
        expect(result.usage.completionTokens).toBe(32);
      } finally {
        await local.close();
      }
    }
    const full = [...prompt, ...theirs];
    const probabilities = await llamaCppProbabilities(gguf, full);
    expect(worstDifference(unmergedProbabilities(training, full), probabilities)).toBeLessThan(1e-4);
  });
});
