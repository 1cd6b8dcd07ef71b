/**
 * `npm run experiment -- hh-pairs [--data FILE] [--out DIR] [--results FILE] [--limit N] [--force]`
 *
 * Does the Stable Alignment objective beat SFT, DPO and RRHF at telling HH-RLHF's chosen answer from
 * its rejected one on dialogues it never saw? Everything is made here from the harmless-base pairs in
 * ../shared/data (read in place):
 * 1. split by dialogue (first human turn, seeded) into train and held-out;
 * 2. a byte-level BPE tokenizer and a small llama trained from scratch on the train dialogues (chosen
 *    and rejected transcripts), by plain next-token pretraining (experiments/hh-pairs-base.ts);
 * 3. from that base, `trainRun` with sft, stable-alignment, dpo and rrhf on the same rows (chosen
 *    scored 7, rejected 1), the same settings, steps and seed;
 * 4. held-out preference accuracy of the base and each method with 95% bootstrap intervals, and the
 *    paired bootstrap interval of each minus SFT.
 * Prints one table and writes it as JSON (`--results`, default experiments/results/hh-pairs.json).
 * Models, the training rows and the held-out pairs stay in `--out` (default runs/hh-pairs, git-ignored).
 * Every setting is fixed before the run; none was chosen by looking at the held-out split.
 * `--limit N` uses the file's first N pairs (a short timing run; pass another --results).
 */
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { formatTable } from "../src/data/text-table.js";
import { createBlas } from "../src/engine/index.js";
import { ConfigError } from "../src/spec/errors.js";
import { trainRun } from "../src/train/train-run.js";
import { defaultTrainingSettings, type TrainingLoss, type TrainingSettings } from "../src/train/training-settings.js";
import { type BaseModelSettings, trainBaseModel } from "./hh-pairs-base.js";
import { differenceFrom, formatEstimate, type ModelAccuracy, measureModel } from "./hh-pairs-evaluation.js";
import { readHhPairs, splitHhPairs } from "./hh-pairs-split.js";

const SEED = 0;
const HELD_OUT_SHARE = 0.2;
const METHODS: readonly TrainingLoss[] = ["sft", "stable-alignment", "dpo", "rrhf"];

/** About 1.1M parameters: the size whose two epochs over ~0.6M tokens fit the budget on one core. */
const BASE: BaseModelSettings = {
  vocabularySize: 2048,
  shape: {
    hiddenSize: 128,
    layers: 4,
    heads: 4,
    kvHeads: 4,
    intermediateSize: 384,
    ropeTheta: 10000,
    rmsNormEpsilon: 1e-5,
    tieWordEmbeddings: true,
    maxPositions: 1024,
  },
  sequenceLength: 256,
  batchSize: 8,
  epochs: 2,
  learningRate: 1e-3,
  warmup: 0.03,
  weightDecay: 0.01,
  seed: SEED,
};

/**
 * Fine-tuning: the trainer's settings for a start made by `model init` (peak rate 1e-3, warmup 3%,
 * cosine, grad accumulation 8, margin 1, ratio 0.2, R 7, num_comp 3, beta 0.1), except one epoch
 * instead of two (the time budget) and no trainer-side split (the experiment held its dialogues out
 * already). Fixed before any held-out number was seen.
 */
function fineTuneSettings(loss: TrainingLoss): TrainingSettings {
  return { ...defaultTrainingSettings({ start: "init" }), loss, epochs: 1, evalSplit: 0, seed: SEED };
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

export default async function hhPairs(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      data: { type: "string", default: "../shared/data/hh-rlhf-harmless.dev.jsonl.gz" },
      out: { type: "string", default: "runs/hh-pairs" },
      results: { type: "string", default: "experiments/results/hh-pairs.json" },
      limit: { type: "string" },
      threads: { type: "string", default: "1" },
      force: { type: "boolean", default: false },
    },
  });
  const started = performance.now();
  const out = resolve(values.out);
  const threads = Number(values.threads);
  if (!Number.isInteger(threads) || threads < 1) {
    throw new ConfigError(`--threads must be a positive integer, got ${values.threads}`, { field: "threads" });
  }
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
    throw new ConfigError(`--limit must be a positive integer, got ${values.limit}`, { field: "limit" });
  }
  if (existsSync(out) && readdirSync(out).length > 0) {
    // Only a folder this experiment wrote (it holds the held-out split) is ever removed.
    if (!values.force || !existsSync(join(out, "held-out.jsonl"))) {
      throw new ConfigError(`--out ${values.out} is not empty; pass --force to replace an earlier hh-pairs run there`, {
        field: "out",
      });
    }
    rmSync(out, { recursive: true, force: true });
  }
  mkdirSync(out, { recursive: true });
  const blas = createBlas({ threads });
  log(`hh-pairs: BLAS ${blas.description}, ${threads} thread(s) of ${availableParallelism()} cores`);

  // 1. Split.
  let pairs = readHhPairs({ path: values.data });
  if (limit !== undefined) pairs = pairs.slice(0, limit);
  const split = splitHhPairs({ pairs, heldOutShare: HELD_OUT_SHARE, seed: SEED });
  const trainData = join(out, "train.sa.json");
  writeFileSync(trainData, `${JSON.stringify(split.trainRows)}\n`);
  const heldOutFile = join(out, "held-out.jsonl");
  writeFileSync(
    heldOutFile,
    split.heldOutPairs.map((pair) => `${JSON.stringify({ chosen: pair.chosen, rejected: pair.rejected })}\n`).join(""),
  );
  const sizes = {
    pairs: pairs.length,
    trainPairs: split.trainPairs.length,
    heldOutPairs: split.heldOutPairs.length,
    trainDialogues: split.dialogues.train,
    heldOutDialogues: split.dialogues.heldOut,
    trainRows: split.trainRows.length,
    heldOutItems: split.heldOutItems.length,
    skipped: split.skipped,
  };
  log(`split: ${JSON.stringify(sizes)}`);

  // 2. Base model from scratch on the train dialogues.
  const baseDirectory = join(out, "base");
  const dialogues = (side: typeof split.trainPairs) => side.flatMap((pair) => [pair.chosen, pair.rejected]);
  let lastReport = 0;
  const base = await trainBaseModel({
    trainTexts: dialogues(split.trainPairs),
    heldOutTexts: dialogues(split.heldOutPairs),
    settings: BASE,
    directory: baseDirectory,
    blas,
    onProgress: (step, total, loss) => {
      if (step === total || performance.now() - lastReport > 15_000) {
        lastReport = performance.now();
        log(`base: step ${step}/${total} loss ${loss.toFixed(3)}`);
      }
    },
  });
  log(`base: ${JSON.stringify(base)}`);

  // 3. Each method from the base, same rows, settings, steps and seed.
  const methods: { loss: TrainingLoss; directory: string; seconds: number; steps: number; finalLoss: number }[] = [];
  for (const loss of METHODS) {
    const methodStarted = performance.now();
    const losses: number[] = [];
    let skipped: Record<string, number> = {};
    // No abort signal is passed, so the run always reaches its last step.
    const result = await trainRun({
      model: baseDirectory,
      data: trainData,
      out: join(out, loss),
      settings: fineTuneSettings(loss),
      blas,
      onEvent: (event) => {
        if (event.type === "start") skipped = event.skipped;
        if (event.type !== "step") return;
        losses.push(event.loss);
        if (event.step === event.totalSteps || performance.now() - lastReport > 15_000) {
          lastReport = performance.now();
          log(`${loss}: step ${event.step}/${event.totalSteps} loss ${event.loss.toFixed(3)}`);
        }
      },
    });
    const tail = losses.slice(-Math.max(1, Math.floor(losses.length / 10)));
    methods.push({
      loss,
      // A full fine-tune (no LoRA) always writes the model directory.
      directory: result.modelDirectory as string,
      seconds: (performance.now() - methodStarted) / 1000,
      steps: losses.length,
      finalLoss: tail.reduce((sum, value) => sum + value, 0) / tail.length,
    });
    if (Object.keys(skipped).length > 0) log(`${loss}: trainer skipped ${JSON.stringify(skipped)}`);
  }

  // 4. Held-out preference accuracy.
  const measured: ModelAccuracy[] = [];
  for (const { name, directory } of [
    { name: "base", directory: baseDirectory },
    ...methods.map((method) => ({ name: method.loss, directory: method.directory })),
  ]) {
    const accuracy = await measureModel({ name, directory, items: split.heldOutItems, blas, seed: SEED });
    log(`${name}: accuracy ${formatEstimate(accuracy.accuracy)} (${accuracy.seconds.toFixed(0)} s)`);
    measured.push(accuracy);
  }
  const sft = measured.find((entry) => entry.name === "sft") as ModelAccuracy;
  const rows = measured.map((entry) => {
    const method = methods.find((candidate) => candidate.loss === entry.name);
    return {
      model: entry.name,
      accuracy: entry.accuracy,
      invalid: entry.invalid,
      minusSft: entry === sft ? undefined : differenceFrom({ model: entry, baseline: sft, seed: SEED }),
      trainSteps: method?.steps ?? base.steps,
      finalTrainLoss: method?.finalLoss ?? base.lastLoss,
      trainSeconds: method?.seconds ?? base.seconds,
      scoreSeconds: entry.seconds,
    };
  });
  const table = formatTable({
    header: ["model", "held-out accuracy [95% CI]", "minus SFT [95% paired CI]", "n", "steps", "train loss", "train s"],
    rows: rows.map((row) => [
      row.model,
      formatEstimate(row.accuracy),
      row.minusSft === undefined ? "-" : formatEstimate(row.minusSft, { signed: true }),
      row.accuracy.count,
      row.trainSteps,
      Number(row.finalTrainLoss.toFixed(3)),
      Math.round(row.trainSeconds),
    ]),
  });
  const wallSeconds = (performance.now() - started) / 1000;
  process.stdout.write(`${table}\nwall time ${wallSeconds.toFixed(0)} s\n`);
  const report = {
    experiment: "hh-pairs",
    data: values.data,
    seed: SEED,
    heldOutShare: HELD_OUT_SHARE,
    sizes,
    base: { settings: BASE, ...base },
    fineTune: { ...fineTuneSettings("sft"), loss: METHODS },
    rows,
    table,
    wallSeconds,
    blas: blas.description,
    threads,
    outputs: { directory: values.out, trainData: "train.sa.json", heldOut: "held-out.jsonl" },
  };
  mkdirSync(dirname(resolve(values.results)), { recursive: true });
  writeFileSync(values.results, `${JSON.stringify(report, null, 2)}\n`);
  log(`wrote ${values.results}`);
}
