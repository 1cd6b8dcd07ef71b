/**
 * What every training backend does before any work: refuse an existing run without `--resume`, refuse a
 * resume with other settings, data or start model (naming the flag), read and tokenize the data, draw
 * the held-out split (`startTrainingRun`, which writes nothing); then, once the backend's own setup has
 * succeeded, record the run (`recordTrainingRun`).
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { type LocatedExample, readAlignmentExamples } from "../data/alignment-example-reader.js";
import { removeStaleTemporaries } from "../model/temporary-path.js";
import type { Tokenizer } from "../model/tokenizer/tokenizer.js";
import { ConfigError, InputError } from "../spec/errors.js";
import { type PreparedTrainingData, prepareTrainingData } from "./training-examples.js";
import { readRunDescription, type TrainingRunDescription, writeRunDescription } from "./training-run-files.js";
import { firstDifferentSetting, type TrainingSettings } from "./training-settings.js";

/** A run ready to start or resume. */
export interface TrainingRunStart {
  /** The run description in `out`, when resuming. */
  stored: TrainingRunDescription | undefined;
  prepared: PreparedTrainingData;
  /** Tokens per sequence: the settings' maxLength capped at the model's context. */
  maxLength: number;
  /** SHA-256 (hex) of the data file's bytes. */
  dataHash: string;
}

/** Checks and prepares a run (see the file comment); throws ConfigError or InputError naming the flag or file. */
export async function startTrainingRun({
  modelDirectory,
  data,
  out,
  settings,
  resume,
  tokenizer,
  maxPositions,
}: {
  modelDirectory: string;
  data: string;
  out: string;
  settings: TrainingSettings;
  resume: boolean;
  tokenizer: Tokenizer;
  /** The start model's context length. */
  maxPositions: number;
}): Promise<TrainingRunStart> {
  const stored = readRunDescription({ directory: out });
  if (stored !== undefined && !resume) {
    throw new ConfigError(`${out} already holds a training run; pass --resume to continue it or choose another --out`, {
      field: "out",
    });
  }
  const dataHash = await sha256File(data);
  if (stored !== undefined) {
    const different = firstDifferentSetting(stored.settings, settings);
    if (different !== undefined) {
      throw new ConfigError(`--resume with a different ${different}; rerun with the run's settings`, {
        field: "resume",
      });
    }
    if (stored.data.sha256 !== dataHash) {
      throw new ConfigError(
        `--resume with different --data: ${data} is not the file the run trained on (${stored.data.path})`,
        { field: "data" },
      );
    }
    if (stored.model !== resolve(modelDirectory)) {
      throw new ConfigError(`--resume with a different --model: the run started from ${stored.model}`, {
        field: "model",
      });
    }
  }
  const maxLength = Math.min(settings.maxLength, maxPositions);
  const rows: LocatedExample[] = [];
  for await (const row of readAlignmentExamples({ path: data, defaults: { model: "unknown", kind: "imitation" } })) {
    rows.push(row);
  }
  const prepared = prepareTrainingData({
    rows,
    file: data,
    tokenizer,
    format: settings.promptFormat,
    maxLength,
    ratingScale: settings.ratingScale,
    evalSplit: settings.evalSplit,
    seed: settings.seed,
  });
  if (prepared.train.length === 0) throw new InputError("no trainable rows (all held out or skipped)", { file: data });
  return { stored, prepared, maxLength, dataHash };
}

/**
 * Creates `out` (removing leftovers of killed writers) and, for a new run, writes its description
 * (training.json): called once the backend's own setup has succeeded.
 */
export async function recordTrainingRun({
  out,
  start,
  settings,
  modelDirectory,
  data,
}: {
  out: string;
  start: TrainingRunStart;
  settings: TrainingSettings;
  modelDirectory: string;
  data: string;
}): Promise<void> {
  await mkdir(out, { recursive: true });
  removeStaleTemporaries({ directory: out });
  if (start.stored !== undefined) return;
  writeRunDescription({
    directory: out,
    description: {
      settings,
      model: resolve(modelDirectory),
      data: { path: resolve(data), sha256: start.dataHash },
      maxLength: start.maxLength,
    },
  });
}

/** SHA-256 (hex) of a file's bytes; InputError naming the file when it cannot be read. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  try {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  } catch (error) {
    throw new InputError(`cannot read the data file: ${(error as Error).message}`, { file: path, cause: error });
  }
  return hash.digest("hex");
}
