/**
 * `stable-alignment train`: fine-tune a checkpoint on alignment data with the Stable Alignment
 * objective or a baseline (SFT, DPO, RRHF) on this machine's CPU. The work is in src/train; this file
 * parses flags, takes the run lock, draws the progress bar and prints the summary.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import cliProgress from "cli-progress";
import { type Command, Option } from "commander";
import { createBlas, describeEngine, formatEngineLine } from "../engine/index.js";
import { LORA_TARGETS, type LoraTarget } from "../model/llama/index.js";
import { MODEL_ORIGIN_FILE } from "../model/model-directory.js";
import { UsageError } from "../spec/errors.js";
import { torchLaunchProblem } from "../train/torch-launch-settings.js";
import { findTorchPython } from "../train/torch-python.js";
import { torchTrainRun } from "../train/torch-train-run.js";
import { type TrainingEvent, trainRun } from "../train/train-run.js";
import {
  defaultTrainingSettings,
  PROMPT_FORMATS,
  TRAINING_LOSSES,
  TRAINING_STAGES,
  type TrainingSettings,
  type TrainingStage,
  validateTrainingSettings,
} from "../train/training-settings.js";
import { resolveCheckpointDirectory } from "./checkpoint-source.js";
import { createCliContext, resolveCommandOptions } from "./cli-context.js";
import { createDownloadProgressReporter } from "./download-progress.js";
import { choiceListOption, integerOption, numberOption } from "./option-parsers.js";
import { checkOutputPath } from "./output-path.js";
import { openRunDirectory } from "./run-directory.js";
import { addTorchBackendOptions, type TorchBackendOptions, torchLaunchSettings } from "./train-torch-options.js";

interface TrainOptions extends TorchBackendOptions {
  model: string;
  data: string;
  out: string;
  loss?: string;
  margin?: number;
  ratio?: number;
  ratingScale?: number;
  numComp?: number;
  maxFlow?: boolean;
  beta?: number;
  labelSmoothing?: number;
  dpoPairs?: "best-worst" | "all";
  epochs?: number;
  lr?: number;
  warmup?: number;
  weightDecay?: number;
  gradAccum?: number;
  maxGradNorm?: number;
  maxLength?: number;
  evalSplit?: number;
  evalEvery?: number;
  saveEvery?: number;
  seed?: number;
  threads?: number;
  stages?: TrainingStage[];
  promptFormat?: string;
  resume?: boolean;
  json?: boolean;
  loraRank?: number;
  loraAlpha?: number;
  loraTargets?: LoraTarget[];
  loraDropout?: number;
  merge?: boolean;
}

const pretrained = defaultTrainingSettings();
const fresh = defaultTrainingSettings({ start: "init" });

/** Registers `train` on the program. */
export function registerTrainCommand(program: Command): void {
  const command = program
    .command("train")
    .description(
      "fine-tune a checkpoint on alignment data: Stable Alignment, SFT, DPO or RRHF (CPU engine, or PyTorch with --backend torch)",
    )
    .requiredOption(
      "--model <dir>",
      "start checkpoint: a directory (Hugging Face layout: config.json, safetensors, tokenizer.json) or hf:<owner>/<repo>[@revision], downloaded once into the cache",
    )
    .requiredOption("--data <file>", "alignment data (`data build` / `data import` output: sa JSON or JSON lines)")
    .requiredOption(
      "--out <dir>",
      "run directory: checkpoints/, metrics.jsonl, the final model in <out>/model (LoRA: the adapter in <out>/adapter)",
    )
    .addOption(new Option("--loss <name>", "objective").choices([...TRAINING_LOSSES]).default("stable-alignment"))
    .option(
      "--margin <m>",
      `Stable Alignment margin M (default ${pretrained.margin})`,
      numberOption("--margin", { min: 0 }),
    )
    .option(
      "--ratio <lambda>",
      `Stable Alignment penalty ratio (default ${pretrained.ratio})`,
      numberOption("--ratio", { min: 0 }),
    )
    .option(
      "--rating-scale <r>",
      `top of the rating scale (default ${pretrained.ratingScale})`,
      integerOption("--rating-scale", { min: 1 }),
    )
    .option(
      "--num-comp <n>",
      `responses sampled per prompt (default ${pretrained.numComp})`,
      integerOption("--num-comp", { min: 2 }),
    )
    .option("--max-flow", "Stable Alignment: penalise the largest difference instead of the mean")
    .option("--beta <b>", `DPO beta (default ${pretrained.beta})`, numberOption("--beta", { min: Number.MIN_VALUE }))
    .option(
      "--label-smoothing <e>",
      "DPO label smoothing in [0, 0.5) (default 0)",
      numberOption("--label-smoothing", { min: 0, max: 0.4999 }),
    )
    .addOption(
      new Option("--dpo-pairs <which>", "DPO pairs per prompt (default best-worst)").choices(["best-worst", "all"]),
    )
    .option(
      "--epochs <n>",
      `passes over the data (default ${pretrained.epochs})`,
      integerOption("--epochs", { min: 1 }),
    )
    .option(
      "--lr <rate>",
      `peak learning rate (default ${pretrained.learningRate} for a pretrained start, ${fresh.learningRate} for a model made by \`model init\`)`,
      numberOption("--lr", { min: Number.MIN_VALUE }),
    )
    .option(
      "--warmup <share>",
      `share of steps warming up (default ${pretrained.warmup})`,
      numberOption("--warmup", { min: 0, max: 0.9999 }),
    )
    .option(
      "--weight-decay <w>",
      `AdamW weight decay (default ${pretrained.weightDecay})`,
      numberOption("--weight-decay", { min: 0 }),
    )
    .option(
      "--grad-accum <n>",
      `prompts per optimizer step (default ${pretrained.gradientAccumulation})`,
      integerOption("--grad-accum", { min: 1 }),
    )
    .option(
      "--max-grad-norm <n>",
      `gradient clipping norm (default ${pretrained.maxGradientNorm})`,
      numberOption("--max-grad-norm", { min: Number.MIN_VALUE }),
    )
    .option(
      "--max-length <tokens>",
      `tokens per sequence, prompt cut from the left (default ${pretrained.maxLength})`,
      integerOption("--max-length", { min: 2 }),
    )
    .option(
      "--eval-split <share>",
      `share of questions held out (default ${pretrained.evalSplit})`,
      numberOption("--eval-split", { min: 0, max: 0.9999 }),
    )
    .option(
      "--eval-every <steps>",
      "held-out loss and preference accuracy every N steps (default: at the end)",
      integerOption("--eval-every", { min: 0 }),
    )
    .option(
      "--save-every <steps>",
      "checkpoint every N steps (default: at the end)",
      integerOption("--save-every", { min: 0 }),
    )
    .option("--seed <n>", "seed of the split, order and sampling (default 0)", integerOption("--seed", { min: 0 }))
    .option("--threads <n>", "BLAS threads (default: cores - 1)", integerOption("--threads", { min: 1, max: 256 }))
    .option(
      "--stages <kinds>",
      "train the data kinds one after another, e.g. imitation,self-critic,realignment (default: one pass over the mixture)",
      choiceListOption("--stages", TRAINING_STAGES),
    )
    .addOption(
      new Option("--prompt-format <format>", "how a row's query becomes the prompt (default verbatim)").choices([
        ...PROMPT_FORMATS,
      ]),
    )
    .option(
      "--lora-rank <r>",
      "train LoRA adapters of rank r on a frozen base instead of every weight; the adapter is written in PEFT's layout to <out>/adapter",
      integerOption("--lora-rank", { min: 1 }),
    )
    .option(
      "--lora-alpha <a>",
      "LoRA alpha: updates are scaled by alpha / r (default 2 r)",
      numberOption("--lora-alpha", { min: Number.MIN_VALUE }),
    )
    .option(
      "--lora-targets <list>",
      `projections with adapters, some of ${LORA_TARGETS.join(",")} (default q,k,v,o)`,
      choiceListOption("--lora-targets", LORA_TARGETS),
    )
    .option(
      "--lora-dropout <p>",
      "dropout on the adapters' input while training, in [0, 1) (default 0)",
      numberOption("--lora-dropout", { min: 0, max: 0.9999 }),
    )
    .option("--merge", "LoRA: also write the base with the adapter merged in, a full model in <out>/model")
    .option("--resume", "continue the run in --out from its newest checkpoint")
    .option("--json", "print events as JSON lines instead of a progress bar");
  addTorchBackendOptions(command)
    .addHelpText(
      "after",
      `\nDefaults follow the reference model card for a pretrained start: lr ${pretrained.learningRate}, warmup ${pretrained.warmup}, cosine decay, weight decay 0, epochs ${pretrained.epochs}, one prompt per micro-batch, gradient accumulation ${pretrained.gradientAccumulation}, max length ${pretrained.maxLength}, margin ${pretrained.margin}, ratio ${pretrained.ratio}, rating scale ${pretrained.ratingScale}, num_comp ${pretrained.numComp}, mean flow, beta ${pretrained.beta}. For a start made by \`model init\`: lr ${fresh.learningRate}, the rest alike.`,
    )
    .action(async (_options: TrainOptions, command: Command) => {
      const context = createCliContext(command);
      const options = resolveCommandOptions<TrainOptions & Record<string, unknown>>(command, context);
      checkOutputPath({ path: options.out, flag: "--out", kind: "directory" });
      const settings = trainingSettingsFrom(options);
      if (settings.lora === undefined) {
        const stray = (["loraAlpha", "loraTargets", "loraDropout", "merge"] as const).find(
          (key) => options[key] !== undefined,
        );
        if (stray !== undefined) {
          const flag = `--${stray.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;
          throw new UsageError(`${flag} needs --lora-rank (LoRA training)`, { field: stray });
        }
      }
      let launch = torchLaunchSettings(options);
      if (launch !== undefined) {
        // Before any work: the flags, an interpreter with torch and torchrun, what that torch offers.
        const flagProblem = torchLaunchProblem({ launch, settings });
        if (flagProblem !== undefined) throw new UsageError(flagProblem.message, { field: flagProblem.field });
        const python = findTorchPython(launch.python === undefined ? {} : { python: launch.python });
        if ("missing" in python) throw new UsageError(python.missing, { field: "python" });
        const torchProblem = torchLaunchProblem({ launch, settings, python });
        if (torchProblem !== undefined) throw new UsageError(torchProblem.message, { field: torchProblem.field });
        launch = { ...launch, python: python.python };
      }
      const engine = describeEngine(options.threads === undefined ? {} : { threads: options.threads });
      context.stderr.write(`${formatEngineLine(engine)}\n`);
      validateTrainingSettings(settings);
      // An hf: checkpoint is downloaded (or found in the cache) before anything is written.
      const modelDirectory = await resolveCheckpointDirectory({
        model: options.model,
        context,
        onProgress: createDownloadProgressReporter(context.stderr),
      });
      const run = openRunDirectory({ directory: options.out, command: "train" });
      const reporter = createTrainReporter({
        stdout: context.stdout,
        stderr: context.stderr,
        json: options.json === true,
      });
      try {
        const common = {
          model: modelDirectory,
          data: options.data,
          out: options.out,
          settings,
          resume: options.resume === true,
          onEvent: reporter.onEvent,
          signal: run.signal,
        };
        const result =
          launch === undefined
            ? await trainRun({
                ...common,
                blas: createBlas(options.threads === undefined ? {} : { threads: options.threads }),
                merge: options.merge === true,
              })
            : await torchTrainRun({ ...common, launch, merge: options.merge === true });
        reporter.stop();
        if (result.finished) {
          const where = [
            ...(result.adapterDirectory === undefined
              ? []
              : [`adapter in ${result.adapterDirectory} (local:${result.adapterDirectory})`]),
            ...(result.modelDirectory === undefined
              ? []
              : [`model in ${result.modelDirectory} (local:${result.modelDirectory})`]),
          ];
          reporter.line(
            {
              type: "done",
              step: result.cursor.step,
              ...(result.modelDirectory === undefined ? {} : { model: result.modelDirectory }),
              ...(result.adapterDirectory === undefined ? {} : { adapter: result.adapterDirectory }),
            },
            `trained ${result.cursor.step} steps; ${where.join("; ")}`,
          );
        } else {
          reporter.line(
            { type: "stopped", step: result.cursor.step },
            `stopped after step ${result.cursor.step}; continue with the same command and --resume`,
          );
        }
      } finally {
        reporter.stop();
        run.close();
      }
    });
}

/** Settings from flags over the defaults for this start (a `model init` directory gets lr 1e-3). */
function trainingSettingsFrom(options: TrainOptions): TrainingSettings {
  const base = defaultTrainingSettings({ start: madeByModelInit(options.model) ? "init" : "pretrained" });
  const pick = <T>(value: T | undefined, fallback: T): T => (value === undefined ? fallback : value);
  return {
    ...base,
    loss: pick(options.loss as TrainingSettings["loss"] | undefined, base.loss),
    margin: pick(options.margin, base.margin),
    ratio: pick(options.ratio, base.ratio),
    ratingScale: pick(options.ratingScale, base.ratingScale),
    numComp: pick(options.numComp, base.numComp),
    maxFlow: options.maxFlow === true,
    beta: pick(options.beta, base.beta),
    labelSmoothing: pick(options.labelSmoothing, base.labelSmoothing),
    dpoPairs: pick(options.dpoPairs, base.dpoPairs),
    epochs: pick(options.epochs, base.epochs),
    learningRate: pick(options.lr, base.learningRate),
    warmup: pick(options.warmup, base.warmup),
    weightDecay: pick(options.weightDecay, base.weightDecay),
    gradientAccumulation: pick(options.gradAccum, base.gradientAccumulation),
    maxGradientNorm: pick(options.maxGradNorm, base.maxGradientNorm),
    maxLength: pick(options.maxLength, base.maxLength),
    evalSplit: pick(options.evalSplit, base.evalSplit),
    evalEvery: pick(options.evalEvery, base.evalEvery),
    saveEvery: pick(options.saveEvery, base.saveEvery),
    seed: pick(options.seed, base.seed),
    stages: pick(options.stages, base.stages),
    promptFormat: pick(options.promptFormat as TrainingSettings["promptFormat"] | undefined, base.promptFormat),
    lora:
      options.loraRank === undefined
        ? undefined
        : {
            rank: options.loraRank,
            alpha: pick(options.loraAlpha, 2 * options.loraRank),
            dropout: pick(options.loraDropout, 0),
            targets: pick(options.loraTargets, ["q", "k", "v", "o"]),
          },
  };
}

function madeByModelInit(directory: string): boolean {
  const path = join(directory, MODEL_ORIGIN_FILE);
  if (!existsSync(path)) return false;
  try {
    return (JSON.parse(readFileSync(path, "utf8")) as { origin?: unknown }).origin === "model init";
  } catch {
    return false;
  }
}

function createTrainReporter({
  stdout,
  stderr,
  json,
}: {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  json: boolean;
}) {
  let bar: cliProgress.SingleBar | undefined;
  const line = (value: unknown, text: string) => stdout.write(json ? `${JSON.stringify(value)}\n` : `${text}\n`);
  const format = (value: number, digits = 4) => (Number.isFinite(value) ? value.toFixed(digits) : "n/a");
  return {
    line,
    onEvent(event: TrainingEvent) {
      if (json) {
        stdout.write(`${JSON.stringify(event)}\n`);
        return;
      }
      if (event.type === "start") {
        const skipped = Object.entries(event.skipped).map(([reason, count]) => `${count} ${reason}`);
        stdout.write(
          `training ${event.parameters.toLocaleString("en-US")} parameters on ${event.trainPrompts} prompts (${event.heldOutPrompts} held out), ${event.totalSteps} steps, max length ${event.maxLength}${event.resumedAt ? `, resumed at step ${event.resumedAt.step}` : ""}${skipped.length > 0 ? `; skipped: ${skipped.join(", ")}` : ""}\n`,
        );
        if (stderr.isTTY) {
          bar = new cliProgress.SingleBar(
            {
              format: "{bar} {value}/{total} steps | loss {loss} | lr {lr} | {speed} tok/s | ETA {eta_formatted}",
              stream: stderr,
              hideCursor: true,
            },
            cliProgress.Presets.shades_classic,
          );
          bar.start(event.totalSteps, event.resumedAt?.step ?? 0, { loss: "-", lr: "-", speed: "-" });
        }
      } else if (event.type === "step") {
        if (bar)
          bar.update(event.step, {
            loss: format(event.loss),
            lr: event.learningRate.toExponential(2),
            speed: Math.round(event.tokensPerSecond),
          });
        else if (event.step === event.totalSteps || event.step % 10 === 0) {
          stdout.write(
            `step ${event.step}/${event.totalSteps} loss ${format(event.loss)} lr ${event.learningRate.toExponential(2)} ${Math.round(event.tokensPerSecond)} tok/s\n`,
          );
        }
      } else if (event.type === "eval") {
        const text = `held-out at step ${event.step}: loss ${format(event.loss)}, preference accuracy ${format(event.preferenceAccuracy, 3)} (${event.prompts} prompts)`;
        if (bar) bar.stop();
        stdout.write(`${text}\n`);
      }
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}
