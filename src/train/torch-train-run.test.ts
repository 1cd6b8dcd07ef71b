/**
 * Parity of `train --backend torch` with the TypeScript engine (needs PyTorch on the machine; CI
 * installs python3-torch): the same tiny model, data and seed trained 10 steps by both give per-step
 * losses within 1e-4 relative for each objective, with and without LoRA (at LoRA dropout 0: the torch
 * trainer draws its dropout masks with torch's generator, so they differ from the engine's).
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBlas } from "../engine/index.js";
import { randomWeights, testTokenizer, tinyConfig } from "../model/__fixtures__/tiny-models.js";
import { saveCheckpoint } from "../model/checkpoint.js";
import { saveTokenizer } from "../model/tokenizer/tokenizer.js";
import { findTorchPython } from "./torch-python.js";
import { torchTrainRun } from "./torch-train-run.js";
import type { TrainingEvent } from "./train-run.js";
import { trainRun } from "./train-run.js";
import { defaultTrainingSettings, type TrainingLoss, type TrainingSettings } from "./training-settings.js";

const torch = findTorchPython();
const missing = "missing" in torch;
if (missing) console.warn("python3-torch not installed: torch backend parity tests skipped");

let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "train-torch-"));
  const tokenizer = testTokenizer();
  const config = tinyConfig({
    family: "qwen2",
    queryKeyValueBias: true,
    tieWordEmbeddings: true,
    vocabularySize: tokenizer.vocabularySize,
    maxPositions: 64,
  });
  await saveCheckpoint({ directory: join(directory, "start"), config, weights: randomWeights({ config, seed: 4 }) });
  await saveTokenizer({
    directory: join(directory, "start"),
    tokenizerJson: tokenizer.tokenizerJson,
    tokenizerConfig: tokenizer.tokenizerConfig,
  });
  const rows = Array.from({ length: 10 }, (_, index) => ({
    query: `Question ${index}: should I be kind to ${"others ".repeat(index % 3)}?`,
    responses: ["Be kind and tell the truth.", "Hurting people is bad.", "I cannot help with that.", "No."],
    scores: [7, 1 + (index % 3), 4, 2 + (index % 5)],
    models: ["a", "a", "a", "a"],
    kind: "imitation",
  }));
  await writeFile(join(directory, "sa.json"), JSON.stringify(rows));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

function settingsFor(loss: TrainingLoss): TrainingSettings {
  return {
    ...defaultTrainingSettings({ start: "init" }),
    loss,
    epochs: 2,
    gradientAccumulation: 2,
    maxLength: 48,
    evalSplit: 0,
    evalEvery: 4,
    saveEvery: 5,
    learningRate: 3e-3,
    warmup: 0.1,
    weightDecay: 0.01,
  };
}

function stepLosses(events: TrainingEvent[]): number[] {
  return events.flatMap((event) => (event.type === "step" ? [event.loss] : []));
}

describe.skipIf(missing)("train --backend torch --device cpu against the TypeScript engine", () => {
  // Two cases hold out 2 of the 10 prompts (3 epochs: 12 steps) and also compare the evaluations.
  it.each([
    { loss: "sft", lora: false, split: false },
    { loss: "stable-alignment", lora: false, split: true },
    { loss: "dpo", lora: false, split: true },
    { loss: "rrhf", lora: false, split: false },
    { loss: "sft", lora: true, split: false },
    { loss: "stable-alignment", lora: true, split: false },
    { loss: "dpo", lora: true, split: false },
    { loss: "rrhf", lora: true, split: false },
  ] as const)(
    "$loss (LoRA: $lora, held-out split: $split): at least 10 steps give the same per-step losses (1e-4 relative)",
    async ({ loss, lora, split }) => {
      const settings: TrainingSettings = {
        ...settingsFor(loss),
        ...(split ? { evalSplit: 0.2, epochs: 3 } : {}),
        ...(lora
          ? { lora: { rank: 4, alpha: 8, dropout: 0, targets: ["q", "k", "v", "o", "gate", "up", "down"] } }
          : {}),
      };
      const name = `${loss}${lora ? "-lora" : ""}`;
      const engineEvents: TrainingEvent[] = [];
      await trainRun({
        model: join(directory, "start"),
        data: join(directory, "sa.json"),
        out: join(directory, `ts-${name}`),
        blas: createBlas({ backend: "typescript" }),
        settings,
        onEvent: (event) => engineEvents.push(event),
      });
      const torchEvents: TrainingEvent[] = [];
      const result = await torchTrainRun({
        model: join(directory, "start"),
        data: join(directory, "sa.json"),
        out: join(directory, `torch-${name}`),
        merge: lora,
        settings,
        onEvent: (event) => torchEvents.push(event),
      });
      expect(result.finished).toBe(true);
      expect(result.modelDirectory).toBe(join(directory, `torch-${name}`, "model"));
      expect(result.adapterDirectory).toBe(lora ? join(directory, `torch-${name}`, "adapter") : undefined);
      const expected = stepLosses(engineEvents);
      const actual = stepLosses(torchEvents);
      expect(expected.length).toBeGreaterThanOrEqual(10);
      expect(actual).toHaveLength(expected.length);
      for (const [index, value] of expected.entries()) {
        const relative = Math.abs((actual[index] as number) - value) / Math.abs(value);
        expect(relative, `step ${index + 1}: torch ${actual[index]} vs engine ${value}`).toBeLessThanOrEqual(1e-4);
      }
      const metrics = (await readFile(join(directory, `torch-${name}`, "metrics.jsonl"), "utf8")).trim().split("\n");
      const evaluations = (events: TrainingEvent[]) =>
        events.flatMap((event) => (event.type === "eval" ? [event] : []));
      const engineEvaluations = evaluations(engineEvents);
      const torchEvaluations = evaluations(torchEvents);
      expect(metrics).toHaveLength(expected.length + torchEvaluations.length);
      expect(engineEvaluations.length).toBeGreaterThanOrEqual(split ? 2 : 0);
      expect(torchEvaluations.map((event) => [event.step, event.prompts])).toEqual(
        engineEvaluations.map((event) => [event.step, event.prompts]),
      );
      for (const [index, evaluation] of engineEvaluations.entries()) {
        const other = torchEvaluations[index] as (typeof torchEvaluations)[number];
        expect(Math.abs(other.loss - evaluation.loss) / Math.abs(evaluation.loss)).toBeLessThanOrEqual(1e-4);
        expect(other.preferenceAccuracy).toBe(evaluation.preferenceAccuracy);
      }
    },
    120_000,
  );
});
