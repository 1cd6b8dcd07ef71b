/**
 * A Qwen2 checkpoint (q/k/v biases) trains through trainRun: the training decoder holds the biases,
 * they receive gradients, and the checkpoints it saves carry them, changed.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBlas } from "../engine/index.js";
import { randomWeights, testTokenizer, tinyConfig } from "../model/__fixtures__/tiny-models.js";
import { loadCheckpoint, saveCheckpoint } from "../model/checkpoint.js";
import type { ModelWeights } from "../model/checkpoint-tensors.js";
import { saveTokenizer } from "../model/tokenizer/tokenizer.js";
import { trainRun } from "./train-run.js";
import { completeCheckpoints } from "./training-run-files.js";
import { defaultTrainingSettings } from "./training-settings.js";

let directory: string;
let start: ModelWeights;
const biasNames = ["q_proj", "k_proj", "v_proj"].flatMap((projection) =>
  [0, 1].map((layer) => `model.layers.${layer}.self_attn.${projection}.bias`),
);

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "train-qwen2-"));
  const tokenizer = testTokenizer();
  const config = tinyConfig({
    family: "qwen2",
    queryKeyValueBias: true,
    tieWordEmbeddings: true,
    vocabularySize: tokenizer.vocabularySize,
    maxPositions: 64,
  });
  start = randomWeights({ config, seed: 4 });
  await saveCheckpoint({ directory: join(directory, "qwen2"), config, weights: start });
  await saveTokenizer({
    directory: join(directory, "qwen2"),
    tokenizerJson: tokenizer.tokenizerJson,
    tokenizerConfig: tokenizer.tokenizerConfig,
  });
  const rows = Array.from({ length: 8 }, (_, index) => ({
    query: `Question ${index}: should I be kind?`,
    responses: ["Be kind and tell the truth.", "Hurting people is bad.", "I cannot help with that."],
    scores: [7, 1 + (index % 3), 4],
    models: ["a", "a", "a"],
    kind: "imitation",
  }));
  await writeFile(join(directory, "sa.json"), JSON.stringify(rows));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe("trainRun on a Qwen2 checkpoint", () => {
  it("trains a few steps and saves checkpoints whose q/k/v biases exist and have moved", async () => {
    const out = join(directory, "run");
    const result = await trainRun({
      model: join(directory, "qwen2"),
      data: join(directory, "sa.json"),
      out,
      blas: createBlas({ backend: "typescript" }),
      settings: {
        ...defaultTrainingSettings({ start: "init" }),
        epochs: 1,
        gradientAccumulation: 2,
        maxLength: 48,
        evalSplit: 0,
        saveEvery: 2,
      },
    });
    expect(result.finished).toBe(true);
    expect(result.cursor.step).toBe(4);
    const steps = completeCheckpoints(out);
    expect(steps.length).toBeGreaterThan(0);
    for (const saved of [
      result.modelDirectory as string,
      join(out, "checkpoints", (steps.at(-1) as { name: string }).name),
    ]) {
      const checkpoint = await loadCheckpoint({ directory: saved });
      expect(checkpoint.config).toMatchObject({ family: "qwen2", queryKeyValueBias: true });
      for (const name of biasNames) {
        const before = start.get(name) as Float32Array;
        const after = checkpoint.weights.get(name) as Float32Array;
        expect(after.length, name).toBe(before.length);
        const moved = after.reduce(
          (largest, value, index) => Math.max(largest, Math.abs(value - (before[index] as number))),
          0,
        );
        expect(moved, `${name} in ${saved}`).toBeGreaterThan(1e-5);
      }
    }
  });
});
