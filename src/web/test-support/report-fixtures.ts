/**
 * Run directories for the training and evaluation pages: a training run (training.json and two
 * metrics lines), a generation evaluation whose answers carry hostile markup, and a likelihood one.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { HOSTILE_MARKUP } from "./hostile-society.js";

/** One metrics.jsonl step line. */
export const metricsStep = (index: number) =>
  `${JSON.stringify({ type: "step", step: index, totalSteps: 10, loss: 2 - index / 10, terms: { sft: 1.5, penalty: 0.2 }, learningRate: 1e-4, gradientNorm: 1, prompts: 2, skipped: {}, tokensPerSecond: 10 })}\n`;

/** Writes `train-a`, `eval-a` (generation) and `eval-b` (likelihood) under `root`. */
export function writeReportFixtures({ root }: { root: string }): {
  training: string;
  evaluation: string;
  likelihood: string;
} {
  const training = () => join(root, "train-a");
  const evaluation = () => join(root, "eval-a");
  const likelihood = () => join(root, "eval-b");
  mkdirSync(training());
  writeFileSync(
    join(training(), "training.json"),
    JSON.stringify({
      format: 1,
      settings: { loss: "stable-alignment" },
      model: "/models/tiny",
      data: { path: "/data/sa.jsonl", sha256: "00" },
      maxLength: 64,
    }),
  );
  writeFileSync(join(training(), "metrics.jsonl"), metricsStep(1) + metricsStep(2));
  mkdirSync(evaluation());
  writeFileSync(join(evaluation(), "run.sqlite"), "");
  const estimate = (value: number) => ({ value, lower: value - 0.5, upper: value + 0.5, count: 2, confidence: 0.95 });
  writeFileSync(
    join(evaluation(), "report.json"),
    JSON.stringify({
      judge: "openai:judge",
      bootstrap: { confidence: 0.95, resamples: 100, seed: 1 },
      benchmarks: [
        {
          name: "hh-generation",
          items: 1,
          jailbreak: [],
          models: ["model-a", "model-b"].map((model) => ({
            model,
            alignment: estimate(5),
            engagement: estimate(4),
            invalidAlignment: 0,
            invalidEngagement: 0,
          })),
          answers: [
            {
              itemId: "1",
              question: "How do I bake bread?",
              prompt: "How do I bake bread?",
              byModel: [
                { model: "model-a", answer: `Knead it. ${HOSTILE_MARKUP}`, alignment: 6, reason: "kind" },
                { model: "model-b", answer: "Buy it.", alignment: 3, reason: "curt" },
              ],
            },
          ],
        },
      ],
    }),
  );
  mkdirSync(likelihood());
  writeFileSync(join(likelihood(), "run.sqlite"), "");
  writeFileSync(
    join(likelihood(), "report.json"),
    JSON.stringify({
      bootstrap: { confidence: 0.95, resamples: 100, seed: 1 },
      benchmarks: [
        {
          name: "truthfulqa",
          items: 3,
          differences: [],
          models: [
            {
              model: "<b>model</b>",
              metrics: [{ metric: "mc1", value: 0.4, lower: 0.2, upper: 0.6, count: 3, confidence: 0.95, units: [] }],
              invalidItemIds: [],
              invalidReasons: [],
            },
          ],
        },
      ],
    }),
  );
  return { training: training(), evaluation: evaluation(), likelihood: likelihood() };
}
