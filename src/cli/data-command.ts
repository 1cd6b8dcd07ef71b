/**
 * `stable-alignment data build|stats|export|import`: alignment data from simulation records (SPEC 2)
 * and conversion to and from the formats other trainers use. The work is in src/data; this file
 * parses flags, wires the optional tokenizer and prints reports.
 */
import { basename } from "node:path";
import { type Command, Option } from "commander";
import {
  ALIGNMENT_DATA_KINDS,
  type AlignmentDataStats,
  type BuildReport,
  buildAlignmentData,
  computeAlignmentDataStats,
  DROP_REASONS,
  EXPORT_FORMATS,
  exportAlignmentData,
  formatTable,
  IMPORT_FORMATS,
  type ImportFormat,
  importAlignmentData,
  loadDataTemplates,
  parseDataMix,
  parseExportFormat,
  renderStatsTables,
  type TokenCounter,
} from "../data/index.js";
import { RATING_SCALE } from "../data/interaction-record-reader.js";
import { assertGgufFile, loadLlamaRuntime } from "../llm/llama-cpp-runtime.js";
import type { AlignmentDataKind } from "../spec/alignment-data.js";
import { ModelSpecError, UsageError } from "../spec/errors.js";
import { type CliContext, createCliContext, resolveCommandOptions } from "./cli-context.js";
import { checkedOption, integerOption, numberOption } from "./option-parsers.js";
import { checkOutputPath } from "./output-path.js";

/** Scores and thresholds live on the 1-7 rating scale. */
const RATING_SCALE_RANGE = { min: RATING_SCALE.minimum, max: RATING_SCALE.maximum };

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

function parseKinds(text: string): AlignmentDataKind[] {
  const kinds = text
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "");
  for (const kind of kinds) {
    if (!ALIGNMENT_DATA_KINDS.includes(kind as AlignmentDataKind)) {
      throw new UsageError(`--kinds: unknown kind "${kind}" (known: ${ALIGNMENT_DATA_KINDS.join(", ")})`, {
        field: "kinds",
      });
    }
  }
  return kinds as AlignmentDataKind[];
}

function print(context: CliContext, text: string): void {
  context.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
}

/** The build report as tables: what each kind offered, kept and wrote, then why rows were dropped. */
export function renderBuildReport(report: BuildReport): string {
  const kinds = ALIGNMENT_DATA_KINDS;
  const summary = formatTable({
    header: ["kind", "candidates", "dropped", "responses", "examples", "written examples", "written responses"],
    rows: kinds.map((kind) => {
      const entry = report.kinds[kind];
      const dropped = Object.values(entry.dropped).reduce((sum, count) => sum + count, 0);
      return [
        kind,
        entry.candidates,
        dropped,
        entry.responses,
        entry.examples,
        entry.writtenExamples,
        entry.writtenResponses,
      ];
    }),
  });
  const reasons = DROP_REASONS.filter((reason) => kinds.some((kind) => report.kinds[kind].dropped[reason] > 0));
  const drops =
    reasons.length === 0
      ? "dropped responses: none"
      : `dropped responses by reason\n${formatTable({
          header: ["kind", ...reasons],
          rows: kinds.map((kind) => [kind, ...reasons.map((reason) => report.kinds[kind].dropped[reason])]),
        })}`;
  return [
    `${report.records} records from ${report.files.length} file(s); mix ${report.mix}, seed ${report.seed}, templates ${report.templateVersion}`,
    summary,
    drops,
    `wrote ${report.writtenExamples} examples (${report.writtenResponses} responses) to ${report.out}`,
  ].join("\n\n");
}

/** A token counter from a GGUF file's vocabulary (weights are not loaded). */
async function loadGgufTokenCounter(path: string): Promise<{ count: TokenCounter; close: () => Promise<void> }> {
  const modelPath = path.startsWith("gguf:") ? path.slice("gguf:".length) : path;
  const spec = `gguf:${modelPath}`;
  await assertGgufFile({ path: modelPath, spec });
  const llama = await loadLlamaRuntime({ gpu: false });
  try {
    const model = await llama.loadModel({ modelPath, vocabOnly: true });
    return { count: (text) => model.tokenize(text, false).length, close: () => model.dispose() };
  } catch (error) {
    throw new ModelSpecError(spec, `cannot read the tokenizer of ${modelPath}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

interface BuildOptions {
  run: string[];
  out: string;
  mix: string;
  seed: number;
  kinds: string;
  templates?: string;
  json?: boolean;
}

interface ExportOptions {
  in: string;
  format: string;
  out: string;
  ktoDesirable: number;
  ktoUndesirable: number;
  json?: boolean;
}

interface ImportOptions {
  format: string;
  out: string;
  chosenScore: number;
  rejectedScore: number;
  template: "raw" | "alpaca";
  templates?: string;
  model?: string;
  kind: string;
  promptField?: string;
  responseField?: string;
  scoreField?: string;
  modelField?: string;
  kindField?: string;
  chosenField?: string;
  rejectedField?: string;
  group?: boolean;
  json?: boolean;
}

/** Registers `data` and its four subcommands. */
export function registerDataCommand(program: Command): void {
  const data = program
    .command("data")
    .description("build alignment data from simulation runs; inspect, export and import it");

  data
    .command("build")
    .description("turn runs' interaction records into Imitation, Self-Critic and Realignment examples (SPEC 2)")
    .option(
      "--run <dir>",
      "a run folder (records.jsonl, else run.sqlite, else the reference's external_memory/agent_*.jsonl), or a records file (repeatable)",
      collect,
    )
    .requiredOption("--out <file>", "output: a JSON array of {query, responses, scores, models, kind}")
    .option(
      "--mix <ratio>",
      "imitation:self-critic:realignment counted in prompts, or all",
      checkedOption({ flag: "--mix", check: parseDataMix }),
      "5:1:1",
    )
    .option("--seed <n>", "seed of the mix sampling", integerOption("--seed"), 0)
    .option(
      "--kinds <list>",
      "kinds to build, comma separated",
      checkedOption({ flag: "--kinds", check: parseKinds }),
      ALIGNMENT_DATA_KINDS.join(","),
    )
    .option("--templates <dir>", "folder of template files overriding the built-in ones")
    .option("--json", "print the report as JSON")
    .action(async (_options: BuildOptions, command: Command) => {
      const context = createCliContext(command);
      const options = resolveCommandOptions<BuildOptions & Record<string, unknown>>(command, context);
      if (options.run === undefined || options.run.length === 0) {
        throw new UsageError("data build needs at least one --run <dir>", { field: "run" });
      }
      checkOutputPath({ path: options.out, flag: "--out", kind: "file" });
      const progress = context.stderr === process.stderr && process.stderr.isTTY;
      const report = await buildAlignmentData({
        runs: options.run,
        out: options.out,
        mix: parseDataMix(options.mix),
        seed: options.seed,
        kinds: parseKinds(options.kinds),
        templates: loadDataTemplates({ directory: options.templates }),
        onProgress: progress ? (records) => context.stderr.write(`\rread ${records} records`) : undefined,
      });
      if (progress) context.stderr.write("\n");
      print(context, options.json ? JSON.stringify(report, null, 2) : renderBuildReport(report));
    });

  data
    .command("stats")
    .description("counts per kind, responses per prompt, score histograms and token-length percentiles")
    .argument("<file>", "alignment data (JSON array or JSON Lines, gzip allowed)")
    .option("--tokenizer <gguf>", "count tokens with this GGUF model's vocabulary (default: approximate count)")
    .option("--json", "print the statistics as JSON")
    .action(async (file: string, _options: unknown, command: Command) => {
      const context = createCliContext(command);
      const options = resolveCommandOptions<{ tokenizer?: string; json?: boolean }>(command, context);
      let stats: AlignmentDataStats;
      if (options.tokenizer === undefined) {
        stats = await computeAlignmentDataStats({ path: file });
      } else {
        const tokenizer = await loadGgufTokenCounter(options.tokenizer);
        try {
          stats = await computeAlignmentDataStats({
            path: file,
            countTokens: tokenizer.count,
            tokenizer: `${basename(options.tokenizer)} tokenizer`,
          });
        } finally {
          await tokenizer.close();
        }
      }
      print(context, options.json ? JSON.stringify(stats, null, 2) : renderStatsTables(stats));
    });

  data
    .command("export")
    .description("write alignment data in another trainer's format")
    .requiredOption("--in <file>", "alignment data (JSON array or JSON Lines, gzip allowed)")
    .addOption(new Option("--format <format>", "output format").choices([...EXPORT_FORMATS]).makeOptionMandatory())
    .requiredOption("--out <file>", "output file (JSON Lines; a JSON array for sa)")
    .option(
      "--kto-desirable <score>",
      "kto: scores at or above are desirable",
      numberOption("--kto-desirable", RATING_SCALE_RANGE),
      5,
    )
    .option(
      "--kto-undesirable <score>",
      "kto: scores at or below are undesirable",
      numberOption("--kto-undesirable", RATING_SCALE_RANGE),
      3,
    )
    .option("--json", "print the report as JSON")
    .action(async (_options: ExportOptions, command: Command) => {
      const context = createCliContext(command);
      const options = resolveCommandOptions<ExportOptions & Record<string, unknown>>(command, context);
      checkOutputPath({ path: options.out, flag: "--out", kind: "file" });
      const report = await exportAlignmentData({
        input: options.in,
        format: parseExportFormat(options.format),
        out: options.out,
        kto: { desirable: options.ktoDesirable, undesirable: options.ktoUndesirable },
      });
      print(
        context,
        options.json
          ? JSON.stringify(report)
          : `wrote ${report.rows} ${report.format} rows from ${report.examples} examples to ${report.out}` +
              (report.examplesWithoutRows > 0 ? ` (${report.examplesWithoutRows} examples gave no row)` : ""),
      );
    });

  data
    .command("import")
    .description("convert HH-RLHF pairs, reference sa files, any JSON Lines or SANDBOX records into alignment data")
    .argument("<file>", "input file (gzip read directly); for sandbox-records a run folder or records file")
    .addOption(new Option("--format <format>", "input format").choices([...IMPORT_FORMATS]).makeOptionMandatory())
    .requiredOption("--out <file>", "output: a JSON array of alignment examples")
    .option(
      "--chosen-score <score>",
      "score of a chosen response",
      numberOption("--chosen-score", RATING_SCALE_RANGE),
      7,
    )
    .option(
      "--rejected-score <score>",
      "score of a rejected response",
      numberOption("--rejected-score", RATING_SCALE_RANGE),
      1,
    )
    .addOption(
      new Option("--template <template>", "hh-rlhf prompt: the raw transcript, or the last human turn in Alpaca form")
        .choices(["raw", "alpaca"])
        .default("raw"),
    )
    .option(
      "--templates <dir>",
      "folder of template files overriding the built-in ones (with --template alpaca or sandbox-records)",
    )
    .option("--model <name>", "model label for responses whose source names none")
    .addOption(
      new Option("--kind <kind>", "kind for examples whose source names none")
        .choices([...ALIGNMENT_DATA_KINDS])
        .default("imitation"),
    )
    .option("--prompt-field <path>", "jsonl: field of the prompt (dotted path)", "prompt")
    .option("--response-field <path>", "jsonl: field of the response or list of responses", "response")
    .option("--score-field <path>", "jsonl: field of the score or list of scores", "score")
    .option("--model-field <path>", "jsonl: field of the model name(s)")
    .option("--kind-field <path>", "jsonl: field of the kind")
    .option("--chosen-field <path>", "jsonl: read pairs: field of the chosen response")
    .option("--rejected-field <path>", "jsonl: with --chosen-field, field of the rejected response", "rejected")
    .option("--group", "merge examples with the same prompt, dropping duplicate responses (sandbox-records always)")
    .option("--json", "print the report as JSON")
    .action(async (file: string, _options: unknown, command: Command) => {
      const context = createCliContext(command);
      const options = resolveCommandOptions<ImportOptions & Record<string, unknown>>(command, context);
      checkOutputPath({ path: options.out, flag: "--out", kind: "file" });
      const report = await importAlignmentData({
        input: file,
        format: options.format as ImportFormat,
        out: options.out,
        chosenScore: options.chosenScore,
        rejectedScore: options.rejectedScore,
        template: options.template,
        templates:
          options.template === "alpaca" || options.format === "sandbox-records"
            ? loadDataTemplates({ directory: options.templates })
            : undefined,
        model: options.model,
        kind: options.kind as AlignmentDataKind,
        fields: {
          prompt: options.promptField,
          response: options.responseField,
          score: options.scoreField,
          model: options.modelField,
          kind: options.kindField,
          chosen: options.chosenField,
          rejected: options.rejectedField,
        },
        group: options.group === true,
      });
      const skipped = Object.entries(report.skipped)
        .map(([reason, count]) => `${reason} ${count}`)
        .join(", ");
      print(
        context,
        options.json
          ? JSON.stringify(report)
          : `read ${report.read}, wrote ${report.examples} examples (${report.responses} responses) to ${report.out}` +
              (skipped === "" ? "" : `; skipped: ${skipped}`),
      );
    });
}
