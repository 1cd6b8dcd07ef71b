/**
 * `stable-alignment eval run` and `eval report`: the likelihood benchmarks of src/eval on any model
 * that can score (SPEC 4, EVAL.md). This file parses flags, resolves each benchmark's data (`--data`
 * or a download into the cache), takes the run lock, draws a progress bar per benchmark and model,
 * and prints the report; the work is in src/eval.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import cliProgress from "cli-progress";
import { type Command, InvalidArgumentError, Option } from "commander";
import { type BenchmarkName, isBenchmarkName, parseBenchmarkList } from "../eval/benchmarks.js";
import { ETHICS_SPLITS, type EthicsSplit } from "../eval/ethics.js";
import { buildEvaluationReport, formatReportJson, formatReportMarkdown } from "../eval/evaluation-report.js";
import { formatReportHtml } from "../eval/evaluation-report-html.js";
import { EVALUATION_RUN_ID, type EvaluationEvent } from "../eval/evaluation-run.js";
import { GENERATION_RUN_ID } from "../eval/generation-run.js";
import { evaluateInDirectory } from "../experiment/evaluation-in-directory.js";
import { InputError, UsageError } from "../spec/errors.js";
import { createEvaluationRepository } from "../store/evaluation-repository.js";
import { openStore } from "../store/open-store.js";
import { createCliContext, resolveCommandOptions } from "./cli-context.js";
import { createDownloadProgressReporter } from "./download-progress.js";
import { generationReportText, isGenerationBenchmark, runGenerationCommand } from "./eval-generation.js";
import { modelFactorySettings } from "./model-factory.js";
import { integerOption, modelSpecOption } from "./option-parsers.js";
import { checkOutputPath } from "./output-path.js";
import { openRunDirectory } from "./run-directory.js";

interface EvalRunOptions {
  model: string[];
  bench: string[];
  mode: "likelihood" | "generation";
  judge?: string;
  questions?: string;
  exclude?: string[];
  templates?: string;
  data?: string[];
  split: EthicsSplit;
  limit?: number;
  seed: number;
  out: string;
  json?: boolean;
  threads?: number;
  allowTestModels?: boolean;
}

interface EvalReportOptions {
  compare?: string;
  format: "md" | "json" | "html";
}

/** The store of a run directory. */
const STORE_FILE = "run.sqlite";

/** Registers `eval run` and `eval report`. */
export function registerEvalCommand(program: Command): void {
  const evaluation = program
    .command("eval")
    .description("likelihood benchmarks (TruthfulQA, ETHICS, Moral Stories, HHH, MIC, HH) with intervals");
  const parseModel = modelSpecOption("--model");
  evaluation
    .command("run")
    .description("score models on benchmarks; a rerun on the same --out continues where it stopped")
    .requiredOption(
      "--model <spec>",
      "a model that can score (local:<dir>, gguf:<path>, hf:..., or a vLLM server: openai:<model>@<url>); repeat for several",
      (text: string, previous: string[] = []) => [...previous, parseModel(text)],
    )
    .requiredOption(
      "--bench <list>",
      "comma-separated: truthfulqa, ethics, moral-stories, hhh, mic, hh-harmless, hh-helpful; generation: hh-harmless, hh-helpful, truthfulqa, moral-stories, mic, sandbox, hh-adversarial",
      (text: string) => {
        const names = text.split(",").map((name) => name.trim());
        if (names.length > 0 && names.every((name) => name !== "" && isGenerationBenchmark(name))) return names;
        try {
          return parseBenchmarkList(text);
        } catch (error) {
          throw new InvalidArgumentError((error as Error).message);
        }
      },
    )
    .addOption(
      new Option("--mode <mode>", "likelihood scoring, or generation judged by --judge")
        .choices(["likelihood", "generation"])
        .default("likelihood"),
    )
    .option("--judge <spec>", "generation: the judge model (observer rubric, pairwise in both orders)", parseModel)
    .option("--questions <file>", "generation: the SANDBOX question pool (sandbox), or prompts for hh-adversarial")
    .option(
      "--exclude <path>",
      "sandbox: leave out every question of an alignment data file or simulation run folder (repeat)",
      (text: string, previous: string[] = []) => [...previous, text],
    )
    .option(
      "--templates <csv>",
      "hh-adversarial: jailbreak templates, GPTFuzz layout (id,text); default: the 14 shipped",
    )
    .requiredOption(
      "--out <dir>",
      "run directory: run.sqlite (items, per-choice scores, metrics), report.md, report.json",
    )
    .option(
      "--data <path>",
      "a local copy in the source's layout instead of a download: <path> with one benchmark, else <bench>=<path> (repeat)",
      (text: string, previous: string[] = []) => [...previous, text],
    )
    .addOption(new Option("--split <split>", "ETHICS test split").choices([...ETHICS_SPLITS]).default("test"))
    .option(
      "--limit <n>",
      "only the first n items of each benchmark (of each subset)",
      integerOption("--limit", { min: 1 }),
    )
    .option("--seed <n>", "seed of the bootstrap intervals", integerOption("--seed", { min: 0 }), 0)
    .option("--threads <n>", "BLAS threads for local: models", integerOption("--threads", { min: 1 }))
    .option("--json", "print events as JSON lines and the report as JSON")
    .addOption(new Option("--allow-test-models", "accept scripted: test models").hideHelp())
    .action(async (_options: unknown, command: Command) => {
      const context = createCliContext(command);
      const options = resolveCommandOptions<EvalRunOptions & Record<string, unknown>>(command, context);
      checkOutputPath({ path: options.out, flag: "--out", kind: "directory" });
      if (options.mode === "generation") {
        await runGenerationCommand({
          context,
          options: {
            ...options,
            data: parseDataFlags(options.data ?? [], options.bench, { known: isGenerationBenchmark }),
          },
          storeFile: STORE_FILE,
        });
        return;
      }
      const unscorable = options.bench.find((name) => !isBenchmarkName(name));
      if (unscorable !== undefined) {
        throw new UsageError(`--bench ${unscorable} has only a generation mode: add --mode generation --judge <spec>`, {
          field: "--bench",
        });
      }
      const benchmarks = options.bench as BenchmarkName[];
      const dataPaths = parseDataFlags(options.data ?? [], benchmarks);
      // No response cache (the run keeps every score in its own store), so the models are made, and
      // refused when they cannot score, before anything is written.
      const progress = createEvalProgress({
        stdout: context.stdout,
        stderr: context.stderr,
        json: options.json === true,
      });
      try {
        const { markdown, json } = await evaluateInDirectory({
          directory: options.out,
          models: options.model,
          benchmarks,
          dataPaths,
          ...(context.environment.HF_ENDPOINT ? { datasetEndpoint: context.environment.HF_ENDPOINT } : {}),
          split: options.split,
          limit: options.limit ?? null,
          seed: options.seed,
          factory: {
            ...modelFactorySettings(context, { allowTestModels: options.allowTestModels === true }),
            ...(context.config.budgetUsd === undefined ? {} : { budgetUsd: context.config.budgetUsd }),
            llamaAttention: "exact",
            ...(options.threads === undefined ? {} : { localThreads: options.threads }),
            onDownloadProgress: createDownloadProgressReporter(context.stderr),
          },
          open: () => openRunDirectory({ directory: options.out, command: "eval run" }),
          onEvent: progress.onEvent,
          onScored: () => progress.stop(),
        });
        context.stdout.write(options.json === true ? json : markdown);
      } finally {
        progress.stop();
      }
    });

  evaluation
    .command("report")
    .description("recompute the report of an eval run directory from its stored scores (byte-identical)")
    .argument("<dir>", "an `eval run` directory")
    .option("--compare <dir>", "another run directory whose models join each table (paired where items match)")
    .addOption(
      new Option("--format <format>", "output format; html: one self-contained page with charts")
        .choices(["md", "json", "html"])
        .default("md"),
    )
    .action(async (directory: string, _options: unknown, command: Command) => {
      const context = createCliContext(command);
      const options = resolveCommandOptions<EvalReportOptions & Record<string, unknown>>(command, context);
      const open = (path: string, flag: string | undefined) => {
        const file = join(path, STORE_FILE);
        if (!existsSync(file))
          throw new UsageError(
            `${flag === undefined ? "" : `${flag} `}${path} holds no ${STORE_FILE}; give an \`eval run --out\` directory`,
            flag === undefined ? {} : { field: flag },
          );
        return openStore({ path: file });
      };
      const main = open(directory, undefined);
      const mainRepository = createEvaluationRepository({ database: main.database });
      if (
        mainRepository.findRun(EVALUATION_RUN_ID) === undefined &&
        mainRepository.findRun(GENERATION_RUN_ID) !== undefined
      ) {
        try {
          if (options.compare !== undefined)
            throw new UsageError("--compare is for likelihood runs; a generation run lists all its models", {
              field: "--compare",
            });
          context.stdout.write(generationReportText({ store: main, format: options.format }));
        } finally {
          main.close();
        }
        return;
      }
      const compare = options.compare === undefined ? undefined : open(options.compare, "--compare");
      try {
        const report = await buildEvaluationReport({
          main: { repository: createEvaluationRepository({ database: main.database }), suffix: "" },
          ...(compare
            ? {
                compare: {
                  repository: createEvaluationRepository({ database: compare.database }),
                  suffix: " [compare]",
                },
              }
            : {}),
        });
        context.stdout.write(
          options.format === "json"
            ? formatReportJson(report)
            : options.format === "html"
              ? formatReportHtml(report)
              : formatReportMarkdown(report),
        );
      } finally {
        main.close();
        compare?.close();
      }
    });
}

/** `--data` values: one bare path (with one benchmark) or `<bench>=<path>` each; `known` names a benchmark. */
function parseDataFlags<Name extends string>(
  values: readonly string[],
  benchmarks: readonly Name[],
  { known = isBenchmarkName as (name: string) => boolean }: { known?: (name: string) => boolean } = {},
): Map<Name, string> {
  const paths = new Map<Name, string>();
  for (const value of values) {
    const equals = value.indexOf("=");
    const name = (equals > 0 ? value.slice(0, equals) : "") as Name;
    if (equals > 0 && known(name)) {
      if (!benchmarks.includes(name))
        throw new UsageError(`--data ${value}: ${name} is not in --bench`, { field: "--data" });
      paths.set(name, value.slice(equals + 1));
    } else if (benchmarks.length === 1) {
      paths.set(benchmarks[0] as Name, value);
    } else {
      throw new UsageError(`--data ${value}: with several benchmarks, name one: --data <bench>=<path>`, {
        field: "--data",
      });
    }
  }
  for (const [name, path] of paths) {
    if (!existsSync(path)) throw new InputError(`--data for ${name}: no such file or folder`, { file: path });
  }
  return paths;
}

function createEvalProgress({
  stdout,
  stderr,
  json,
}: {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  json: boolean;
}) {
  let bar: cliProgress.SingleBar | undefined;
  return {
    onEvent(event: EvaluationEvent) {
      if (json) {
        if (event.kind === "item") return;
        const value =
          event.kind === "done"
            ? {
                kind: "done",
                benchmark: event.benchmark,
                model: event.model,
                counts: event.counts,
                metrics: event.score.metrics.map((metric) => ({ metric: metric.metric, ...metric.estimate })),
                invalid: event.score.invalidItemIds.length,
              }
            : event;
        stdout.write(`${JSON.stringify(value)}\n`);
        return;
      }
      if (event.kind === "items") {
        stderr.write(
          `${event.benchmark}: ${event.items} items${event.stored ? " (stored)" : ""}${event.skipped > 0 ? `, ${event.skipped} source rows skipped` : ""}\n`,
        );
      } else if (event.kind === "start") {
        if (stderr.isTTY) {
          bar = new cliProgress.SingleBar(
            {
              format: `${event.benchmark} {bar} {value}/{total} items | ${event.model}`,
              stream: stderr,
              hideCursor: true,
            },
            cliProgress.Presets.shades_classic,
          );
          bar.start(event.items, 0);
        }
      } else if (event.kind === "item") {
        bar?.update(event.done);
      } else if (event.kind === "done") {
        bar?.stop();
        bar = undefined;
        stderr.write(
          `${event.benchmark} / ${event.model}: ${event.counts.scored} continuations scored in ${event.counts.calls} calls, ${event.counts.stored} from the store\n`,
        );
      }
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}
