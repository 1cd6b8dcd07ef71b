/**
 * The evaluation step: each generation's model (generation 0: the start model) on the recipe's
 * likelihood benchmarks (`evaluateInDirectory`, in `run/`) and, with a judge, in generation mode
 * (`judgeInDirectory`, in `judged/`; `sandbox` leaves out every question the model trained on).
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { BenchmarkName } from "../eval/benchmarks.js";
import { writeFileAtomically } from "../model/atomic-writer.js";
import { STARTER_QUESTIONS } from "../sandbox/starter-set.js";
import { evaluateInDirectory } from "./evaluation-in-directory.js";
import {
  modelDirectoryOf,
  type StepContext,
  type StepOutcome,
  type StepUsage,
  upstreamOf,
} from "./experiment-step-context.js";
import { judgeInDirectory } from "./judged-evaluation-in-directory.js";
import { recipePath } from "./recipe.js";

/** Runs the evaluation node of `context`. */
export async function runEvaluationStep(context: StepContext): Promise<StepOutcome> {
  const { evaluation } = context.recipe;
  const model = await modelDirectoryOf(context, upstreamOf(context, "train") ?? upstreamOf(context, "model-init"));
  const spec = `local:${model}`;
  const factory = { ...context.models, localThreads: evaluation.threads, llamaAttention: "exact" as const };
  const details: Record<string, unknown> = {};
  let usage: StepUsage | undefined;
  if (evaluation.benchmarks.length > 0) {
    const dataPaths = new Map<BenchmarkName, string>();
    for (const benchmark of evaluation.benchmarks) {
      if (benchmark.data !== undefined)
        dataPaths.set(benchmark.name, recipePath(context.recipeDirectory, benchmark.data));
    }
    const outcome = await evaluateInDirectory({
      directory: join(context.node.directory, "run"),
      models: [spec],
      benchmarks: evaluation.benchmarks.map((benchmark) => benchmark.name),
      dataPaths,
      limit: evaluation.limit ?? null,
      seed: evaluation.seed,
      factory,
      ...(context.signal ? { signal: context.signal } : {}),
    });
    details.benchmarks = outcome.report.benchmarks.map((benchmark) => ({
      name: benchmark.name,
      items: benchmark.items,
      metrics: benchmark.models[0]?.metrics ?? [],
    }));
  }
  if (evaluation.judge !== undefined) {
    const directory = join(context.node.directory, "judged");
    mkdirSync(directory, { recursive: true });
    const judge = evaluation.judge;
    const dataPaths = new Map<string, string>();
    for (const benchmark of judge.benchmarks) {
      if (benchmark.data !== undefined)
        dataPaths.set(benchmark.name, recipePath(context.recipeDirectory, benchmark.data));
    }
    // `sandbox` asks the society's pool, less every question this model (or its ancestors) trained on.
    let questions = recipePath(context.recipeDirectory, context.recipe.society.questions);
    if (questions === "starter") {
      questions = join(directory, "questions.txt");
      writeFileAtomically({ path: questions, data: `${STARTER_QUESTIONS.join("\n")}\n` });
    }
    const exclude = [...context.nodes.values()]
      .filter((node) => node.kind === "data" && node.generation <= context.node.generation)
      .map((node) => join(node.directory, "data.json"));
    const outcome = await judgeInDirectory({
      directory,
      models: [spec],
      benchmarks: judge.benchmarks.map((benchmark) => benchmark.name),
      judge: judge.model,
      dataPaths,
      ...(judge.limit === undefined ? {} : { limit: judge.limit }),
      seed: evaluation.seed,
      questions,
      exclude,
      factory,
      ...(context.signal ? { signal: context.signal } : {}),
    });
    usage = outcome.usage;
    details.judged = outcome.report.benchmarks.map((benchmark) => ({
      name: benchmark.name,
      items: benchmark.items,
      alignment: benchmark.models[0]?.alignment,
      engagement: benchmark.models[0]?.engagement,
    }));
  }
  return { ...(usage ? { usage } : {}), details };
}
