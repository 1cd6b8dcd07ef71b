/**
 * `local:<adapter dir>`: a PEFT LoRA adapter whose config names its base runs as base plus adapter, with
 * the same log-likelihoods as the training decoder running the adapters unmerged and as the merged
 * checkpoint through `local:` (within 1e-5).
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBlas } from "../engine/index.js";
import { randomWeights, testTokenizer, tinyConfig } from "../model/__fixtures__/tiny-models.js";
import { saveCheckpoint } from "../model/checkpoint.js";
import { createLlamaModel, type LlamaModel } from "../model/llama/index.js";
import { copyWeightsIntoModel } from "../model/llama-weights.js";
import { loraAdapterOfModel, mergeLoraWeights, writeLoraAdapter } from "../model/lora-adapter.js";
import { saveTokenizer } from "../model/tokenizer/tokenizer.js";
import { ModelSpecError } from "../spec/errors.js";
import { createLocalModel } from "./local-model.js";

const blas = createBlas({ backend: "typescript" });
const tokenizer = testTokenizer();
const config = tinyConfig({ family: "qwen2", queryKeyValueBias: true, vocabularySize: tokenizer.vocabularySize });
const base = randomWeights({ config, seed: 9 });
const context = "Be kind and tell";
const continuations = [" the truth.", " people", " I cannot help"];
let directory: string;
let trained: LlamaModel;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "local-adapter-"));
  await saveCheckpoint({ directory: join(directory, "base"), config, weights: base });
  await saveTokenizer({ directory: join(directory, "base"), ...tokenizer });
  trained = createLlamaModel({
    config,
    blas,
    lora: { rank: 4, alpha: 16, dropout: 0.1, targets: ["q", "k", "v", "o", "gate", "up", "down"] },
  });
  copyWeightsIntoModel({ model: trained, weights: base });
  trained.trainable.parameters.forEach((_, index, values) => {
    values[index] = Math.sin(index * 0.7) * 0.15;
  });
  await mkdir(join(directory, "adapter"));
  await writeLoraAdapter({ directory: join(directory, "adapter"), model: trained, baseModel: "../base" });
  const merged = mergeLoraWeights({ weights: base, adapter: loraAdapterOfModel({ model: trained, baseModel: "" }) });
  await saveCheckpoint({ directory: join(directory, "merged"), config, weights: merged });
  await saveTokenizer({ directory: join(directory, "merged"), ...tokenizer });
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

/** Summed log p of the last `count` tokens of context + continuation, by the training decoder with adapters unmerged. */
function unmergedLogProbability(continuation: string, count: number): number {
  // As scoreContinuations: the joint tokenization (this context is not empty, so no BOS is added).
  const tokens = tokenizer.encode(context + continuation, { addSpecialTokens: true });
  const targets = Int32Array.from(tokens, (_, index) =>
    index + 1 < tokens.length ? (tokens[index + 1] as number) : -1,
  );
  const logProbabilities = trained.tokenLogProbabilities({
    tokens: Int32Array.from(tokens),
    targets,
    batchSize: 1,
    sequenceLength: tokens.length,
  });
  let sum = 0;
  for (let index = tokens.length - 1 - count; index < tokens.length - 1; index++)
    sum += logProbabilities[index] as number;
  return sum;
}

describe("local: with a LoRA adapter directory", () => {
  it("scores as the unmerged adapters and as the merged checkpoint, within 1e-5, and differs from the base", async () => {
    const adapted = await createLocalModel({ directory: join(directory, "adapter"), blas });
    const merged = await createLocalModel({ directory: join(directory, "merged"), blas });
    const plain = await createLocalModel({ directory: join(directory, "base"), blas });
    try {
      const [withAdapter, fromMerged, fromBase] = await Promise.all(
        [adapted, merged, plain].map((model) => model.score({ context, continuations })),
      );
      continuations.forEach((continuation, index) => {
        const adapterScore = withAdapter?.scores[index];
        const mergedScore = fromMerged?.scores[index];
        const baseScore = fromBase?.scores[index];
        if (!adapterScore?.valid || !mergedScore?.valid || !baseScore?.valid) throw new Error("expected valid scores");
        const reference = unmergedLogProbability(continuation, adapterScore.tokenCount);
        expect(Math.abs(adapterScore.logProbability - reference), continuation).toBeLessThan(1e-5);
        expect(Math.abs(mergedScore.logProbability - adapterScore.logProbability), continuation).toBeLessThan(1e-5);
        expect(Math.abs(baseScore.logProbability - adapterScore.logProbability), continuation).toBeGreaterThan(1e-3);
      });
      expect(adapted.tokenizer.vocabularySize).toBe(tokenizer.vocabularySize);
    } finally {
      await Promise.all([adapted.close(), merged.close(), plain.close()]);
    }
  });

  it("names the adapter directory when its base cannot be loaded", async () => {
    const lonely = join(directory, "lonely");
    await mkdir(lonely);
    await writeLoraAdapter({ directory: lonely, model: trained, baseModel: join(directory, "missing") });
    const error = await createLocalModel({ directory: lonely, blas }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ModelSpecError);
    expect((error as Error).message).toMatch(/cannot load the checkpoint: .*missing/);
    expect((error as Error).message).not.toContain("\n");
  });
});
