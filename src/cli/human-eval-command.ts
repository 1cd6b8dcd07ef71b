/**
 * `stable-alignment human-eval create|export`: blind human evaluation of generation-mode runs
 * (issue 17). `create` plans the study and prints one private link per rater and an admin link
 * (shown once: only hashes are stored); the rater and admin pages are served by the web app
 * (src/web/human-eval). `export` writes the included raters' preferences as JSON Lines or DPO rows
 * (`data import --format jsonl --chosen-field chosen` reads both), or, with `--format eval`, writes
 * them into the evaluation runs as the judge "human" so `eval report` shows them. The work is in
 * src/eval/human-eval.
 */
import { type Command, InvalidArgumentError, Option } from "commander";
import { createStudy } from "../eval/human-eval/create-study.js";
import { readGoldFile } from "../eval/human-eval/gold-file.js";
import { openStudy } from "../eval/human-eval/open-study.js";
import { exportStudyPairs, recordHumanVerdicts } from "../eval/human-eval/study-export.js";
import { writeFileAtomically } from "../model/atomic-writer.js";
import { UsageError } from "../spec/errors.js";
import { type CliContext, createCliContext, resolveCommandOptions } from "./cli-context.js";
import { integerOption, numberOption } from "./option-parsers.js";
import { checkOutputPath } from "./output-path.js";

/** `--gold`: a share of the pair items as `10%` or `0.1`. */
export function parseGoldShare(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(text);
  const value = match === null ? Number.NaN : Number(match[1]) / (match[2] === "%" ? 100 : 1);
  if (!(value >= 0 && value <= 1)) {
    throw new InvalidArgumentError(`--gold must be a share of the items such as 10% or 0.1, got "${text}"`);
  }
  return value;
}

function collect(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(",")
      .map((entry) => entry.trim())
      .filter((entry) => entry !== ""),
  ];
}

function print(context: CliContext, text: string): void {
  context.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
}

interface CreateOptions {
  from: string[];
  models: string;
  items?: number;
  perItem: number;
  raters?: number;
  gold: number;
  goldFile?: string;
  seed: number;
  minGoldAccuracy: number;
  minSeconds: number;
  baseUrl: string;
  out: string;
  json?: boolean;
}

/** Registers `human-eval` and its subcommands. */
export function registerHumanEvalCommand(program: Command): void {
  const humanEval = program.command("human-eval").description("blind human evaluation of generation-mode runs");
  humanEval
    .command("create")
    .description("plan a blind pairwise study and print one private link per rater and an admin link")
    .requiredOption(
      "--from <dir>",
      "generation-mode eval run directory (repeat or comma-separate to take models from several)",
      collect,
    )
    .requiredOption("--models <a,b[,c...]>", "models to compare, as named in the eval runs (round-robin pairs)")
    .option("--items <n>", "prompts to ask (seeded sample); default all", integerOption("--items", { min: 1 }))
    .option("--per-item <n>", "raters per pair item", integerOption("--per-item", { min: 1 }), 3)
    .option("--raters <n>", "raters (default --per-item)", integerOption("--raters", { min: 1 }))
    .option("--gold <share>", "gold items as a share of the pair items, e.g. 10% or 0.1", parseGoldShare, 0.1)
    .option("--gold-file <file>", "JSON Lines of your own gold pairs {question, better, worse[, id]}")
    .option(
      "--seed <n>",
      "seed of the sample, the assignment, the order and sides, and the intervals",
      integerOption("--seed", { min: 0 }),
      0,
    )
    .option(
      "--min-gold-accuracy <share>",
      "exclusion rule: a rater below this gold accuracy is excluded",
      numberOption("--min-gold-accuracy", { min: 0, max: 1 }),
      0.75,
    )
    .option(
      "--min-seconds <s>",
      "exclusion rule: a rater whose median seconds per item is below this is excluded",
      numberOption("--min-seconds", { min: 0 }),
      3,
    )
    .option("--base-url <url>", "where serve runs, for the printed links", "http://127.0.0.1:7860")
    .requiredOption("--out <dir>", "the study directory (must not exist or be empty)")
    .option("--json", "print the links as one JSON object")
    .action(async (_options: unknown, self: Command) => {
      const context = createCliContext(self);
      const options = resolveCommandOptions<CreateOptions & Record<string, unknown>>(self, context);
      checkOutputPath({ path: options.out, flag: "--out", kind: "directory" });
      const models = options.models
        .split(",")
        .map((model) => model.trim())
        .filter((model) => model !== "");
      const perItem = options.perItem;
      const raters = options.raters ?? perItem;
      if (perItem > raters) {
        throw new UsageError(`--per-item ${perItem} is more than --raters ${raters}`, { field: "--per-item" });
      }
      const created = await createStudy({
        from: options.from,
        out: options.out,
        settings: {
          models,
          ...(options.items === undefined ? {} : { items: options.items }),
          perItem,
          raters,
          goldFraction: options.gold,
          seed: options.seed,
          exclusion: { minGoldAccuracy: options.minGoldAccuracy, minSecondsPerItem: options.minSeconds },
        },
        extraGoldPairs: options.goldFile === undefined ? [] : await readGoldFile({ path: options.goldFile }),
        baseUrl: options.baseUrl,
      });
      if (options.json) {
        print(context, JSON.stringify(created));
        return;
      }
      print(
        context,
        [
          `study ${created.studyId} in ${created.directory}: ${created.items} pair items, ${created.goldItems} gold items, ${created.flagged} flagged for identity words`,
          "Private rater links (shown only now; send each to one rater):",
          ...created.raterLinks.map(({ raterId, link }) => `  ${raterId}: ${link}`),
          `Admin link (keep it to yourself): ${created.adminLink}`,
          `Serve it with: stable-alignment serve --runs ${created.directory}`,
        ].join("\n"),
      );
    });

  humanEval
    .command("export")
    .description("write the study's preferences as JSON Lines or DPO rows, or into the eval runs as the judge 'human'")
    .argument("<study>", "the study directory")
    .addOption(
      new Option("--format <format>", "jsonl | dpo: preference pairs; eval: human verdicts into the eval runs")
        .choices(["jsonl", "dpo", "eval"])
        .makeOptionMandatory(),
    )
    .option("--out <file>", "output file (jsonl and dpo)")
    .action(async (directory: string, _options: unknown, self: Command) => {
      const context = createCliContext(self);
      const options = resolveCommandOptions<{ format: "jsonl" | "dpo" | "eval"; out?: string }>(self, context);
      if (options.format !== "eval" && options.out === undefined) {
        throw new UsageError(`--format ${options.format} needs --out <file>`, { field: "--out" });
      }
      const study = openStudy({ directory });
      try {
        if (options.format === "eval") {
          const written = recordHumanVerdicts({ study });
          for (const [source, count] of written) print(context, `wrote ${count} human verdicts into ${source}`);
          return;
        }
        const out = checkOutputPath({ path: options.out as string, flag: "--out", kind: "file" });
        const { text, pairs } = exportStudyPairs({ study, format: options.format });
        writeFileAtomically({ path: out, data: text });
        print(context, `wrote ${pairs} ${options.format} preference pairs to ${out}`);
      } finally {
        study.close();
      }
    });
}
