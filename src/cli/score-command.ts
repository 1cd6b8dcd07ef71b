/**
 * `stable-alignment score preference`: how often a model finds the chosen answer of a preference pair
 * more likely than the rejected one (length-normalised log-likelihood), with a 95% bootstrap interval.
 * Any model that can score: `local:<dir>`, `gguf:`/`hf:` (llama.cpp, exact attention), and
 * OpenAI-compatible servers that echo prompt log-probabilities (vLLM).
 */
import { join } from "node:path";
import { type Command, Option } from "commander";
import { computePreferenceAccuracy, type PreferenceAccuracy } from "../data/preference-accuracy.js";
import { readPreferencePairs } from "../data/preference-pairs-reader.js";
import { scorerOf } from "../experiment/evaluation-in-directory.js";
import { openStore } from "../store/open-store.js";
import { type CliContext, createCliContext, resolveCommandOptions } from "./cli-context.js";
import { createDownloadProgressReporter } from "./download-progress.js";
import { createModelFactory } from "./model-factory.js";
import { integerOption, modelSpecOption } from "./option-parsers.js";

/** What one `score preference` run does. */
export interface ScorePreferenceOptions {
  /** Model spec of a model that can score. */
  model: string;
  /** The pairs file: HH-RLHF `{chosen, rejected}` or DPO `{prompt, chosen, rejected}`, JSONL or JSON, gzip ok. */
  data: string;
  /** Score only the first `limit` rows. Default: all. */
  limit?: number;
  /** Pairs scored at once. Default 4. */
  concurrency: number;
  /** Bootstrap seed. Default 0. */
  seed: number;
  /** BLAS threads for `local:` models. */
  threads?: number;
  /** Print one JSON object instead of a line of text. */
  json?: boolean;
  allowTestModels?: boolean;
}

/** Registers `score` and its `preference` subcommand. */
export function registerScoreCommand(program: Command): void {
  const score = program.command("score").description("likelihood scoring with models that can score");
  score
    .command("preference")
    .description("preference accuracy of a model on chosen/rejected pairs, with a 95% bootstrap interval")
    .requiredOption(
      "--model <spec>",
      "a model that can score: local:<dir>, gguf:<path>, hf:<owner>/<repo>/<file>.gguf, or openai:<model>@<url> of a vLLM server",
      modelSpecOption("--model"),
    )
    .requiredOption(
      "--data <file>",
      "pairs: HH-RLHF JSONL {chosen, rejected} or DPO rows {prompt, chosen, rejected} (JSONL or JSON, .gz read directly)",
    )
    .option("--limit <n>", "score only the first n rows", integerOption("--limit", { min: 1 }))
    .option("--concurrency <n>", "pairs scored at once", integerOption("--concurrency", { min: 1 }), 4)
    .option("--seed <n>", "seed of the bootstrap interval", integerOption("--seed", { min: 0 }), 0)
    .option("--threads <n>", "BLAS threads for local: models", integerOption("--threads", { min: 1 }))
    .option("--json", "print the result as one JSON object")
    .addOption(new Option("--allow-test-models", "accept scripted: test models").hideHelp())
    .action(async (_options: unknown, self: Command) => {
      const context = createCliContext(self);
      const options = resolveCommandOptions<ScorePreferenceOptions & Record<string, unknown>>(self, context);
      await runScorePreference({ context, options });
    });
}

/**
 * Builds the model (scores cached in `<cache>/score-cache.sqlite`), refuses one that cannot score
 * before reading any data, then scores every pair and prints the accuracy, its interval and the counts
 * of skipped rows and invalid items. Progress goes to stderr.
 */
export async function runScorePreference({
  context,
  options,
}: {
  context: CliContext;
  options: ScorePreferenceOptions;
}): Promise<void> {
  const store = openStore({ path: join(context.cacheDirectory, "score-cache.sqlite") });
  const factory = createModelFactory({
    context,
    store,
    llamaAttention: "exact",
    allowTestModels: options.allowTestModels === true,
    ...(options.threads === undefined ? {} : { localThreads: options.threads }),
    onDownloadProgress: createDownloadProgressReporter(context.stderr),
  });
  try {
    const model = await factory.languageModel(options.model);
    const scorer = scorerOf(model, options.model);
    const pairs = await readPreferencePairs({
      path: options.data,
      ...(options.limit === undefined ? {} : { limit: options.limit }),
    });
    const total = pairs.items.length;
    const every = Math.max(1, Math.floor(total / 20));
    let done = 0;
    const started = performance.now();
    const result = await computePreferenceAccuracy({
      scorer,
      items: pairs.items,
      concurrency: options.concurrency,
      seed: options.seed,
      onItem: () => {
        done += 1;
        if (done % every === 0 || done === total) {
          const seconds = (performance.now() - started) / 1000;
          context.stderr.write(`scored ${done}/${total} pairs (${seconds.toFixed(1)} s)\n`);
        }
      },
    });
    const skipped = Object.values(pairs.skipped).reduce((sum, count) => sum + count, 0);
    const usage = factory.usageMeter.totals();
    if (options.json) {
      context.stdout.write(
        `${JSON.stringify({
          model: options.model,
          data: options.data,
          rows: pairs.rows,
          pairs: total,
          accuracy: result.accuracy,
          invalid: result.invalid,
          invalidReasons: invalidReasons(result),
          skipped,
          skippedReasons: pairs.skipped,
          calls: usage.calls,
          cachedCalls: usage.cachedCalls,
          costUsd: usage.costUsd,
        })}\n`,
      );
      return;
    }
    const { value, lower, upper, count } = result.accuracy;
    const accuracy =
      count === 0 ? "no valid pairs" : `${value.toFixed(4)} (95% CI ${lower.toFixed(4)} to ${upper.toFixed(4)})`;
    context.stdout.write(
      `preference accuracy ${accuracy} over ${count} pairs; ${result.invalid} invalid, ${skipped} skipped of ${pairs.rows} rows\n`,
    );
    for (const [reason, times] of Object.entries(pairs.skipped)) context.stderr.write(`skipped ${times}: ${reason}\n`);
    for (const [reason, times] of Object.entries(invalidReasons(result))) {
      context.stderr.write(`invalid ${times}: ${reason}\n`);
    }
  } finally {
    await factory.close();
    store.close();
  }
}

function invalidReasons(result: PreferenceAccuracy): Record<string, number> {
  const reasons: Record<string, number> = {};
  for (const item of result.items) if (!item.valid) reasons[item.reason] = (reasons[item.reason] ?? 0) + 1;
  return reasons;
}
