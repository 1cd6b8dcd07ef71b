import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { type Blas, createAdamW, createTensorMemory } from "../engine/index.js";
import { writeFileAtomically } from "../model/atomic-writer.js";
import { loadCheckpoint } from "../model/checkpoint.js";
import { createLlamaModel, noDecaySpans } from "../model/llama/index.js";
import { copyWeightsIntoModel, trainingModelWeights } from "../model/llama-weights.js";
import { loraAdapterOfModel, mergeLoraWeights } from "../model/lora-adapter.js";
import { loadTokenizer } from "../model/tokenizer/tokenizer.js";
import { ConfigError } from "../spec/errors.js";
import {
  computeReferenceLogProbabilities,
  type EvaluationMetrics,
  runTraining,
  type StepMetrics,
  type TrainingCursor,
  totalStepsOf,
  trainingOrder,
} from "./training-loop.js";
import {
  appendMetrics,
  restoreLatestCheckpoint,
  saveTrainingCheckpoint,
  truncateMetrics,
  writeAdapterDirectory,
  writeModelDirectory,
} from "./training-run-files.js";
import { recordTrainingRun, startTrainingRun } from "./training-run-start.js";
import { type TrainingSettings, validateTrainingSettings } from "./training-settings.js";

/** What the run reports as it goes (the CLI draws the progress bar from these). */
export type TrainingEvent =
  | {
      type: "start";
      parameters: number;
      trainPrompts: number;
      heldOutPrompts: number;
      skipped: Record<string, number>;
      totalSteps: number;
      maxLength: number;
      resumedAt: TrainingCursor | undefined;
    }
  | { type: "references"; prompts: number }
  | ({ type: "step" } & StepMetrics)
  | ({ type: "eval" } & Omit<EvaluationMetrics, "preferenceOutcomes">)
  | { type: "checkpoint"; step: number; directory: string };

/** Options of {@link trainRun}. */
export interface TrainRunOptions {
  /** Start checkpoint directory (Hugging Face layout). */
  model: string;
  /** Alignment data file (`sa` JSON array or JSON lines, gzip allowed). */
  data: string;
  /** Run directory: checkpoints, metrics and the final model (`<out>/model`). */
  out: string;
  settings: TrainingSettings;
  blas: Blas;
  /** Continue from the newest checkpoint in `out`. Default false: `out` must hold no run. */
  resume?: boolean;
  onEvent?: (event: TrainingEvent) => void;
  /** Stops cleanly between steps (the newest checkpoint stays resumable). */
  signal?: AbortSignal;
  /** LoRA runs: also write the base with the adapter merged into `<out>/model`. Default false. */
  merge?: boolean;
}

/** Trains; returns where the run stopped and the final model directory (when it finished). */
export async function trainRun({
  model: modelDirectory,
  data,
  out,
  settings,
  blas,
  resume = false,
  onEvent,
  signal,
  merge = false,
}: TrainRunOptions): Promise<{
  cursor: TrainingCursor;
  finished: boolean;
  /** The final model (full fine-tune, or a LoRA run with `merge`); undefined for an unmerged LoRA run. */
  modelDirectory: string | undefined;
  /** LoRA runs: the final adapter (PEFT layout). */
  adapterDirectory: string | undefined;
}> {
  validateTrainingSettings(settings);
  if (merge && settings.lora === undefined) {
    throw new ConfigError("--merge needs LoRA training (--lora-rank)", { field: "merge" });
  }
  const checkpoint = await loadCheckpoint({ directory: modelDirectory });
  const tokenizer = await loadTokenizer({ directory: modelDirectory });
  const start = await startTrainingRun({
    modelDirectory,
    data,
    out,
    settings,
    resume,
    tokenizer,
    maxPositions: checkpoint.config.maxPositions,
  });
  const { prepared, maxLength } = start;
  const model = createLlamaModel({
    config: checkpoint.config,
    blas,
    memory: createTensorMemory(),
    ...(settings.lora === undefined ? {} : { lora: settings.lora, seed: settings.seed }),
  });
  copyWeightsIntoModel({ model, weights: checkpoint.weights, source: modelDirectory });
  // Optimizer state only for what trains: the adapters under LoRA, every weight otherwise.
  const optimizer = createAdamW({
    parameters: model.trainable.parameters,
    gradients: model.trainable.gradients,
    learningRate: settings.learningRate,
    weightDecay: settings.weightDecay,
    noDecay: noDecaySpans(model.trainable.layout),
  });
  const baseModel = resolve(modelDirectory);
  await recordTrainingRun({ out, start, settings, modelDirectory, data });
  // DPO's reference is the start model: computed before any update, kept for resumes.
  let references: number[][] | undefined;
  let heldOutReferences: number[][] | undefined;
  if (settings.loss === "dpo") {
    const path = join(out, "references.json");
    if (existsSync(path)) {
      ({ train: references, heldOut: heldOutReferences } = JSON.parse(await readFile(path, "utf8")) as {
        train: number[][];
        heldOut: number[][];
      });
    } else {
      references = computeReferenceLogProbabilities({ model, prompts: prepared.train, maxLength });
      heldOutReferences = computeReferenceLogProbabilities({ model, prompts: prepared.heldOut, maxLength });
      writeFileAtomically({ path, data: JSON.stringify({ train: references, heldOut: heldOutReferences }) });
    }
    onEvent?.({ type: "references", prompts: references.length });
  }
  const resumedAt = resume ? await restoreLatestCheckpoint({ runDirectory: out, model, optimizer }) : undefined;
  const cursor = resumedAt ?? { step: 0, consumed: 0 };
  truncateMetrics({ directory: out, step: cursor.step });
  const totalSteps = totalStepsOf({
    microBatches: trainingOrder({ prompts: prepared.train, settings }).length,
    settings,
  });
  onEvent?.({
    type: "start",
    parameters: model.trainable.parameters.length,
    trainPrompts: prepared.train.length,
    heldOutPrompts: prepared.heldOut.length,
    skipped: prepared.skipped,
    totalSteps,
    maxLength,
    resumedAt,
  });
  const finalDirectory = join(out, "model");
  const ended = await runTraining({
    model,
    optimizer,
    settings,
    prompts: prepared.train,
    heldOut: prepared.heldOut,
    ...(references ? { references } : {}),
    ...(heldOutReferences ? { heldOutReferences } : {}),
    cursor,
    maxLength,
    ...(signal ? { signal } : {}),
    onStep: (metrics) => {
      appendMetrics({ directory: out, record: { type: "step", ...metrics } });
      onEvent?.({ type: "step", ...metrics });
    },
    onEvaluation: ({ preferenceOutcomes: _, ...metrics }) => {
      appendMetrics({ directory: out, record: { type: "eval", ...metrics } });
      onEvent?.({ type: "eval", ...metrics });
    },
    onCheckpoint: async (at) => {
      const directory = await saveTrainingCheckpoint({
        runDirectory: out,
        cursor: at,
        config: checkpoint.config,
        model,
        tokenizer,
        optimizer,
        baseModel,
      });
      onEvent?.({ type: "checkpoint", step: at.step, directory });
    },
  });
  const finished = ended.step >= totalSteps;
  const adapterDirectory = settings.lora === undefined ? undefined : join(out, "adapter");
  const writesModel = settings.lora === undefined || merge;
  if (finished) {
    if (adapterDirectory !== undefined) await writeAdapterDirectory({ directory: adapterDirectory, model, baseModel });
    if (writesModel) {
      const weights =
        settings.lora === undefined
          ? undefined
          : mergeLoraWeights({
              weights: trainingModelWeights(model),
              adapter: loraAdapterOfModel({ model, baseModel }),
            });
      await writeModelDirectory({
        directory: finalDirectory,
        config: checkpoint.config,
        model,
        tokenizer,
        ...(weights ? { weights } : {}),
      });
    }
  }
  return { cursor: ended, finished, modelDirectory: writesModel ? finalDirectory : undefined, adapterDirectory };
}
