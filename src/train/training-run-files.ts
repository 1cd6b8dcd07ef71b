/**
 * What a training run keeps in its directory:
 *   training.json            settings, start model, data file and its SHA-256 (resume checks them)
 *   metrics.jsonl            one JSON line per optimizer step ({"type":"step",...}) and evaluation ({"type":"eval",...})
 *   references.json          DPO: the start model's summed log-likelihood of every response
 *   checkpoints/step-NNNNNN/ Hugging Face layout (LoRA: the PEFT adapter only) + optimizer.safetensors
 *                            (AdamW moments of what trains) + trainer-state.json
 *   model/                   the final model, Hugging Face layout (LoRA: only with --merge, the adapter merged)
 *   adapter/                 LoRA: the final adapter in PEFT's layout (adapter_config.json, adapter_model.safetensors)
 * Every directory is written under a temporary name and renamed when complete, so a kill leaves either
 * the previous checkpoint or the new one, never half of one; leftovers of killed writers are removed.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { AdamW, AdamWState } from "../engine/index.js";
import { writeDirectoryAtomically, writeFileAtomically } from "../model/atomic-writer.js";
import { loadCheckpoint, saveCheckpoint } from "../model/checkpoint.js";
import type { CheckpointConfig } from "../model/checkpoint-config.js";
import type { ModelWeights } from "../model/checkpoint-tensors.js";
import type { LlamaModel } from "../model/llama/index.js";
import { copyWeightsIntoModel, trainingModelWeights } from "../model/llama-weights.js";
import {
  ADAPTER_CONFIG_FILE_NAME,
  copyAdapterIntoModel,
  readLoraAdapter,
  writeLoraAdapter,
} from "../model/lora-adapter.js";
import { openSafetensorsCheckpoint } from "../model/safetensors/safetensors-reader.js";
import { writeSafetensorsFile } from "../model/safetensors/safetensors-writer.js";
import { removeStaleTemporaries } from "../model/temporary-path.js";
import { saveTokenizer, type Tokenizer } from "../model/tokenizer/tokenizer.js";
import { InputError } from "../spec/errors.js";
import type { TrainingCursor } from "./training-loop.js";
import type { TrainingSettings } from "./training-settings.js";

/** Format version of trainer-state.json and training.json. */
const FORMAT = 1;
/** Checkpoints kept besides the newest (older ones are deleted once a newer one is complete). */
const KEPT_CHECKPOINTS = 2;

/** The run's identity, written once at the start. */
export interface TrainingRunDescription {
  format: number;
  settings: TrainingSettings;
  /** The start model directory. */
  model: string;
  /** The data file and the SHA-256 of its bytes. */
  data: { path: string; sha256: string };
  /** Sequence length actually used (settings.maxLength capped at the model's context). */
  maxLength: number;
}

/** Reads training.json, or undefined when the directory holds no training run. */
export function readRunDescription({ directory }: { directory: string }): TrainingRunDescription | undefined {
  const path = join(directory, "training.json");
  if (!existsSync(path)) return undefined;
  try {
    const value = JSON.parse(readFileSync(path, "utf8")) as TrainingRunDescription;
    if (value.format !== FORMAT) throw new Error(`format ${String(value.format)} is not ${FORMAT}`);
    return value;
  } catch (error) {
    throw new InputError(`not a training run description: ${(error as Error).message}`, { file: path });
  }
}

/** Writes training.json atomically. */
export function writeRunDescription({
  directory,
  description,
}: {
  directory: string;
  description: Omit<TrainingRunDescription, "format">;
}): void {
  writeFileAtomically({
    path: join(directory, "training.json"),
    data: `${JSON.stringify({ format: FORMAT, ...description }, null, 2)}\n`,
  });
}

/** Appends one metrics line (a step or an evaluation). */
export function appendMetrics({ directory, record }: { directory: string; record: Record<string, unknown> }): void {
  writeFileSync(join(directory, "metrics.jsonl"), `${JSON.stringify(record)}\n`, { flag: "a" });
}

/**
 * Keeps only metrics lines up to `step` (a resume replays the steps after its checkpoint, and their
 * lines are written again); a torn last line from a kill is dropped too.
 */
export function truncateMetrics({ directory, step }: { directory: string; step: number }): void {
  const path = join(directory, "metrics.jsonl");
  if (!existsSync(path)) return;
  const kept: string[] = [];
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (line.trim() === "") continue;
    try {
      const record = JSON.parse(line) as { step?: unknown };
      if (typeof record.step === "number" && record.step <= step) kept.push(line);
    } catch {
      // A line cut by a kill.
    }
  }
  writeFileAtomically({ path, data: kept.map((line) => `${line}\n`).join("") });
}

/** The name of a checkpoint directory. */
export function checkpointName(step: number): string {
  return `step-${String(step).padStart(6, "0")}`;
}

/** Writes a model directory (weights in the Hugging Face layout and the tokenizer) atomically at `directory`, replacing one. */
export async function writeModelDirectory({
  directory,
  config,
  model,
  tokenizer,
  weights = trainingModelWeights(model),
  extra,
}: {
  directory: string;
  config: CheckpointConfig;
  model: LlamaModel;
  tokenizer: Tokenizer;
  /** The weights to save (default the model's own; a LoRA run passes the merged ones). */
  weights?: ModelWeights;
  /** Writes more files into the temporary directory before it is renamed. */
  extra?: (temporary: string) => Promise<void>;
}): Promise<void> {
  await writeDirectoryAtomically({ directory, replace: true, replaceableIfHolds: "config.json" }, async (temporary) => {
    await saveCheckpoint({ directory: temporary, config, weights });
    await saveTokenizer({
      directory: temporary,
      tokenizerJson: tokenizer.tokenizerJson,
      tokenizerConfig: tokenizer.tokenizerConfig,
    });
    if (tokenizer.chatTemplate !== undefined && tokenizer.tokenizerConfig.chat_template === undefined) {
      await writeFile(join(temporary, "chat_template.jinja"), tokenizer.chatTemplate);
    }
    if (extra !== undefined) await extra(temporary);
  });
}

/** Writes the model's LoRA adapter atomically at `directory` in PEFT's layout, replacing an adapter there. */
export async function writeAdapterDirectory({
  directory,
  model,
  baseModel,
  extra,
}: {
  directory: string;
  model: LlamaModel;
  /** base_model_name_or_path. */
  baseModel: string;
  extra?: (temporary: string) => Promise<void>;
}): Promise<void> {
  await writeDirectoryAtomically(
    { directory, replace: true, replaceableIfHolds: ADAPTER_CONFIG_FILE_NAME },
    async (temporary) => {
      await writeLoraAdapter({ directory: temporary, model, baseModel });
      if (extra !== undefined) await extra(temporary);
    },
  );
}

/**
 * Saves a resumable checkpoint of the run at `cursor` and prunes older ones. A LoRA model saves its
 * adapter (PEFT layout, `baseModel` as its base) instead of the whole model.
 */
export async function saveTrainingCheckpoint({
  runDirectory,
  cursor,
  config,
  model,
  tokenizer,
  optimizer,
  baseModel,
}: {
  runDirectory: string;
  cursor: TrainingCursor;
  config: CheckpointConfig;
  model: LlamaModel;
  tokenizer: Tokenizer;
  optimizer: AdamW;
  baseModel: string;
}): Promise<string> {
  const checkpoints = join(runDirectory, "checkpoints");
  await mkdir(checkpoints, { recursive: true });
  const directory = join(checkpoints, checkpointName(cursor.step));
  const write =
    model.lora === undefined
      ? (extra: (temporary: string) => Promise<void>) =>
          writeModelDirectory({ directory, config, model, tokenizer, extra })
      : (extra: (temporary: string) => Promise<void>) => writeAdapterDirectory({ directory, model, baseModel, extra });
  await write(async (temporary) => {
    await writeSafetensorsFile({
      path: join(temporary, "optimizer.safetensors"),
      tensors: [
        { name: "first_moment", shape: [optimizer.firstMoment.length], data: optimizer.firstMoment },
        { name: "second_moment", shape: [optimizer.secondMoment.length], data: optimizer.secondMoment },
      ],
    });
    const state = { format: FORMAT, ...cursor, optimizerSteps: optimizer.stepCount };
    await writeFile(join(temporary, "trainer-state.json"), `${JSON.stringify(state, null, 2)}\n`);
  });
  const complete = completeCheckpoints(runDirectory);
  for (const old of complete.slice(0, Math.max(0, complete.length - KEPT_CHECKPOINTS))) {
    await rm(join(checkpoints, old.name), { recursive: true, force: true });
  }
  return directory;
}

/** Complete checkpoints, oldest first; removes temporaries that killed writers left. */
export function completeCheckpoints(runDirectory: string): { name: string; step: number }[] {
  const checkpoints = join(runDirectory, "checkpoints");
  if (!existsSync(checkpoints)) return [];
  const found: { name: string; step: number }[] = [];
  removeStaleTemporaries({ directory: checkpoints });
  for (const entry of readdirSync(checkpoints)) {
    const match = /^step-(\d+)$/.exec(entry);
    if (match && existsSync(join(checkpoints, entry, "trainer-state.json")))
      found.push({ name: entry, step: Number(match[1]) });
  }
  return found.sort((a, b) => a.step - b.step);
}

/** Restores the newest complete checkpoint into `model` and `optimizer`; undefined when there is none. */
export async function restoreLatestCheckpoint({
  runDirectory,
  model,
  optimizer,
}: {
  runDirectory: string;
  model: LlamaModel;
  optimizer: AdamW;
}): Promise<TrainingCursor | undefined> {
  const latest = completeCheckpoints(runDirectory).at(-1);
  if (latest === undefined) return undefined;
  const directory = join(runDirectory, "checkpoints", latest.name);
  const state = JSON.parse(await readFile(join(directory, "trainer-state.json"), "utf8")) as {
    step: number;
    consumed: number;
    optimizerSteps: number;
  };
  if (model.lora === undefined) {
    const checkpoint = await loadCheckpoint({ directory });
    copyWeightsIntoModel({ model, weights: checkpoint.weights, source: directory });
  } else {
    copyAdapterIntoModel({ model, adapter: await readLoraAdapter({ directory }), source: directory });
  }
  const moments = await openSafetensorsCheckpoint({ path: join(directory, "optimizer.safetensors") });
  const restored: AdamWState = {
    stepCount: state.optimizerSteps,
    firstMoment: await moments.readFloat32("first_moment"),
    secondMoment: await moments.readFloat32("second_moment"),
  };
  optimizer.restore(restored);
  return { step: state.step, consumed: state.consumed };
}
