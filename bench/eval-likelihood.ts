/**
 * `npm run bench -- eval-likelihood [--config small] [--items N] [--threads T] [--data PATH]`
 *
 * TruthfulQA MC2 items per second (each item: the QA-primer context and every mc2 choice scored by
 * `score`) on one model, two ways in one run: our decoder through `local:` and llama.cpp on the same
 * weights exported to an f32 GGUF (`gguf:`, each item's context evaluated once and its choices after
 * it), with the same thread count on both sides. Prints one JSON line with both rates and ours /
 * llama.cpp (target >= 0.5 on `small`) and the largest per-choice difference between the two.
 * Items come from ../shared/data/truthfulqa.mc_task.sample.json (or --data); the model is made by
 * `model init` with a tokenizer trained on those questions. Nothing asserts on time.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createBlas, describeEngine, formatEngineLine } from "../src/engine/index.js";
import { type ChoiceItem, continuationOf } from "../src/eval/benchmark-item.js";
import { readTruthfulQa, truthfulQaItems } from "../src/eval/truthfulqa.js";
import { createLlamaCppModel } from "../src/llm/llama-cpp-model.js";
import { createLocalModel } from "../src/llm/local-model.js";
import { exportModel, initializeModel } from "../src/model/model-directory.js";
import type { ContinuationScore, Scorer } from "../src/spec/scoring.js";

async function itemsPerSecond(
  scorer: Scorer,
  items: readonly ChoiceItem[],
): Promise<{ rate: number; scores: ContinuationScore[][] }> {
  // One warm-up item, then the timed pass.
  await scorer.score({ context: items[0]?.context ?? "", continuations: [" warm up"] });
  const scores: ContinuationScore[][] = [];
  const start = performance.now();
  for (const item of items) {
    scores.push(
      (await scorer.score({ context: item.context, continuations: item.choices.map(continuationOf) })).scores,
    );
  }
  return { rate: items.length / ((performance.now() - start) / 1000), scores };
}

export default async function evalLikelihood(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: "string", default: "small" },
      items: { type: "string", default: "20" },
      threads: { type: "string", default: "1" },
      data: {
        type: "string",
        default: join(import.meta.dirname, "..", "..", "shared", "data", "truthfulqa.mc_task.sample.json"),
      },
    },
  });
  const threads = Number(values.threads);
  const engine = describeEngine({ threads });
  process.stderr.write(`${formatEngineLine(engine)}\n`);
  const questions = await readTruthfulQa({ path: values.data });
  const items = truthfulQaItems(questions)
    .filter((item) => item.subset === "mc2")
    .slice(0, Number(values.items));
  const directory = await mkdtemp(join(tmpdir(), "bench-eval-likelihood-"));
  try {
    const modelDirectory = join(directory, "model");
    await initializeModel({
      shape: values.config,
      tokenizer: { kind: "train", files: [values.data], vocabularySize: 2048 },
      directory: modelDirectory,
      blas: createBlas({ threads }),
      seed: 0,
    });
    const ggufPath = join(directory, "model.gguf");
    await exportModel({ directory: modelDirectory, out: ggufPath, format: "gguf", dtype: "f32" });
    const local = await createLocalModel({ directory: modelDirectory, threads });
    const ours = await itemsPerSecond(local, items);
    await local.close();
    const gguf = await createLlamaCppModel({
      modelPath: ggufPath,
      threads,
      gpu: false,
      contextSize: 2048,
      parallelSequences: 1,
      attention: "exact",
    });
    if (!gguf.score) throw new Error("the llama.cpp model has no score");
    const theirs = await itemsPerSecond(gguf as Scorer, items);
    await gguf.close();
    let largestDifference = 0;
    ours.scores.forEach((scores, index) => {
      scores.forEach((score, position) => {
        const other = theirs.scores[index]?.[position];
        if (score.valid && other?.valid) {
          largestDifference = Math.max(largestDifference, Math.abs(score.logProbability - other.logProbability));
        }
      });
    });
    process.stdout.write(
      `${JSON.stringify({
        benchmark: "eval-likelihood",
        config: values.config,
        items: items.length,
        choices: items.reduce((sum, item) => sum + item.choices.length, 0),
        threads,
        oursItemsPerSecond: Number(ours.rate.toFixed(3)),
        llamaCppItemsPerSecond: Number(theirs.rate.toFixed(3)),
        ratio: Number((ours.rate / theirs.rate).toFixed(3)),
        largestLogProbabilityDifference: Number(largestDifference.toExponential(2)),
      })}\n`,
    );
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}
