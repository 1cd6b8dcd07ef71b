/**
 * `train --backend torch`: the TypeScript side prepares the data exactly as {@link trainRun} does and
 * writes it as one batch file (src/train/torch-batch-file.ts) plus a job file into the run directory,
 * then launches torchrun with the package's Python trainer (python/stable_alignment_torch), relays its
 * JSON metrics lines as the same events and metrics.jsonl lines, and writes the final model directory.
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { copyFile, writeFile } from "node:fs/promises";
import { type AddressInfo, createServer } from "node:net";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { writeDirectoryAtomically, writeFileAtomically } from "../model/atomic-writer.js";
import { loadCheckpoint, saveCheckpoint } from "../model/checkpoint.js";
import { type CheckpointConfig, readCheckpointConfig } from "../model/checkpoint-config.js";
import { initializeLoraParameters, type LoraSettings, loraParameterLayout } from "../model/llama/index.js";
import {
  ADAPTER_CONFIG_FILE_NAME,
  ADAPTER_WEIGHTS_FILE_NAME,
  mergeLoraWeights,
  peftAdapterConfig,
  readLoraAdapter,
} from "../model/lora-adapter.js";
import { writeSafetensorsFile } from "../model/safetensors/safetensors-writer.js";
import { loadTokenizer, saveTokenizer } from "../model/tokenizer/tokenizer.js";
import { ConfigError, TorchTrainerError } from "../spec/errors.js";
import { writeTorchBatchFile } from "./torch-batch-file.js";
import { type TorchLaunchSettings, torchLaunchProblem } from "./torch-launch-settings.js";
import { findTorchPython, torchTrainerDirectory } from "./torch-python.js";
import type { TrainingEvent } from "./train-run.js";
import type { TrainingCursor } from "./training-loop.js";
import { appendMetrics, checkpointName, truncateMetrics } from "./training-run-files.js";
import { recordTrainingRun, startTrainingRun } from "./training-run-start.js";
import { type TrainingSettings, validateTrainingSettings } from "./training-settings.js";

export type { TorchLaunchSettings } from "./torch-launch-settings.js";

/** Options of {@link torchTrainRun}: those of trainRun (no BLAS) plus the launch. */
export interface TorchTrainRunOptions {
  model: string;
  data: string;
  out: string;
  settings: TrainingSettings;
  launch?: TorchLaunchSettings;
  resume?: boolean;
  /** LoRA runs: also write the base with the adapter merged into `<out>/model`. Default false. */
  merge?: boolean;
  onEvent?: (event: TrainingEvent) => void;
  signal?: AbortSignal;
  /** Called with torchrun's process id once it starts (it leads its own process group: kill `-pid` to end the job). */
  onLaunch?: (processId: number) => void;
}

/** The newest complete torch checkpoint's step in `out`, or undefined. */
export function latestTorchCheckpointStep({ out }: { out: string }): number | undefined {
  const directory = join(out, "torch-checkpoints");
  if (!existsSync(directory)) return undefined;
  const steps = readdirSync(directory)
    .filter((name) => existsSync(join(directory, name, "cursor.json")))
    .map((name) => (JSON.parse(readFileSync(join(directory, name, "cursor.json"), "utf8")) as { step: number }).step);
  return steps.length === 0 ? undefined : Math.max(...steps);
}

/** Trains with PyTorch; returns where the run stopped and the final model directory when it finished. */
export async function torchTrainRun({
  model: modelDirectory,
  data,
  out,
  settings,
  launch = {},
  resume = false,
  merge = false,
  onEvent,
  signal,
  onLaunch,
}: TorchTrainRunOptions): Promise<{
  cursor: TrainingCursor;
  finished: boolean;
  /** The final model (full fine-tune, or LoRA with `merge`). */
  modelDirectory: string | undefined;
  /** LoRA runs: the final adapter (PEFT layout). */
  adapterDirectory: string | undefined;
}> {
  validateTrainingSettings(settings);
  const { device = "cpu", processesPerNode = 1, precision = "fp32", fsdp = "none" } = launch;
  if (merge && settings.lora === undefined)
    throw new ConfigError("--merge needs LoRA training (--lora-rank)", { field: "merge" });
  // Before any work: the flags, then the interpreter, torch, torchrun and what that torch offers.
  const flagProblem = torchLaunchProblem({ launch, settings });
  if (flagProblem !== undefined) throw new ConfigError(flagProblem.message, { field: flagProblem.field });
  const python = findTorchPython(launch.python === undefined ? {} : { python: launch.python });
  if ("missing" in python) throw new ConfigError(python.missing, { field: "python" });
  const torchProblem = torchLaunchProblem({ launch, settings, python });
  if (torchProblem !== undefined) throw new ConfigError(torchProblem.message, { field: torchProblem.field });
  const config = await readCheckpointConfig({ path: modelDirectory });
  const tokenizer = await loadTokenizer({ directory: modelDirectory });
  const start = await startTrainingRun({
    modelDirectory,
    data,
    out,
    settings,
    resume,
    tokenizer,
    maxPositions: config.maxPositions,
  });
  const { prepared, maxLength } = start;
  await recordTrainingRun({ out, start, settings, modelDirectory, data });
  const batchFile = join(out, "batches.bin");
  const header = writeTorchBatchFile({
    path: batchFile,
    prompts: prepared.train,
    heldOut: prepared.heldOut,
    settings,
    maxLength,
  });
  // LoRA: the adapters start as the engine starts them (PEFT's init from the run seed), as a PEFT directory.
  const loraInit = join(out, "lora-init");
  if (settings.lora !== undefined)
    await writeInitialAdapter({ directory: loraInit, config, settings, baseModel: resolve(modelDirectory) });
  const jobFile = join(out, "torch-job.json");
  writeFileAtomically({
    path: jobFile,
    data: JSON.stringify({
      config,
      settings,
      model: resolve(modelDirectory),
      out: resolve(out),
      batchFile: resolve(batchFile),
      device,
      precision,
      fsdp,
      resume,
      ...(settings.lora === undefined ? {} : { lora: settings.lora, loraInit: resolve(loraInit) }),
    }),
  });
  const resumedStep = resume ? latestTorchCheckpointStep({ out }) : undefined;
  truncateMetrics({ directory: out, step: resumedStep ?? 0 });
  onEvent?.({
    type: "start",
    parameters: 0,
    trainPrompts: prepared.train.length,
    heldOutPrompts: prepared.heldOut.length,
    skipped: prepared.skipped,
    totalSteps: header.totalSteps,
    maxLength,
    resumedAt: resumedStep === undefined ? undefined : { step: resumedStep, consumed: 0 },
  });
  const exit = await runTorchTrainer({
    python: python.python,
    jobFile,
    out,
    processesPerNode,
    launch,
    onEvent,
    signal,
    onLaunch,
  });
  const step = latestTorchCheckpointStep({ out }) ?? 0;
  const cursor = { step, consumed: Math.min(step * settings.gradientAccumulation, header.microBatches.length) };
  if (exit.code !== 0) {
    if (signal?.aborted) return { cursor, finished: false, modelDirectory: undefined, adapterDirectory: undefined };
    throw new TorchTrainerError(`the torch trainer failed (exit ${exit.code}): ${exit.lastError}`, {
      exitCode: exit.code,
    });
  }
  const finished = step >= header.totalSteps;
  const finalDirectory = join(out, "model");
  const adapterDirectory = settings.lora === undefined ? undefined : join(out, "adapter");
  const writesModel = settings.lora === undefined || merge;
  if (finished) {
    const last = join(out, "torch-checkpoints", checkpointName(step));
    let weights = settings.lora === undefined ? (await loadCheckpoint({ directory: last })).weights : undefined;
    if (adapterDirectory !== undefined) {
      const adapter = await readLoraAdapter({ directory: last });
      await writeDirectoryAtomically(
        { directory: adapterDirectory, replace: true, replaceableIfHolds: ADAPTER_CONFIG_FILE_NAME },
        async (temporary) => {
          for (const name of [ADAPTER_CONFIG_FILE_NAME, ADAPTER_WEIGHTS_FILE_NAME])
            await copyFile(join(last, name), join(temporary, name));
        },
      );
      if (merge)
        weights = mergeLoraWeights({ weights: (await loadCheckpoint({ directory: modelDirectory })).weights, adapter });
    }
    if (writesModel && weights !== undefined) {
      const merged = weights;
      await writeDirectoryAtomically(
        { directory: finalDirectory, replace: true, replaceableIfHolds: "config.json" },
        async (temporary) => {
          await saveCheckpoint({ directory: temporary, config, weights: merged });
          await saveTokenizer({
            directory: temporary,
            tokenizerJson: tokenizer.tokenizerJson,
            tokenizerConfig: tokenizer.tokenizerConfig,
          });
        },
      );
    }
  }
  return {
    cursor,
    finished,
    modelDirectory: finished && writesModel ? finalDirectory : undefined,
    adapterDirectory: finished ? adapterDirectory : undefined,
  };
}

/** Writes the adapters' starting values (the engine's initialisation from the run seed) as a PEFT directory. */
async function writeInitialAdapter({
  directory,
  config,
  settings,
  baseModel,
}: {
  directory: string;
  config: CheckpointConfig;
  settings: TrainingSettings;
  baseModel: string;
}): Promise<void> {
  const lora = settings.lora as LoraSettings;
  const layout = loraParameterLayout(config, lora);
  const parameters = new Float32Array(layout.totalSize);
  initializeLoraParameters({ parameters, layout: layout.entries, seed: settings.seed });
  await writeDirectoryAtomically(
    { directory, replace: true, replaceableIfHolds: ADAPTER_CONFIG_FILE_NAME },
    async (temporary) => {
      await writeSafetensorsFile({
        path: join(temporary, ADAPTER_WEIGHTS_FILE_NAME),
        tensors: layout.entries.map((entry) => ({
          name: entry.name,
          shape: entry.shape,
          data: parameters.subarray(entry.offset, entry.offset + entry.size),
        })),
      });
      await writeFile(
        join(temporary, ADAPTER_CONFIG_FILE_NAME),
        `${JSON.stringify(peftAdapterConfig({ settings: lora, baseModel }), null, 2)}\n`,
      );
    },
  );
}

/**
 * A free TCP port on 127.0.0.1 for a single-node rendezvous. torchrun's `--standalone` always uses port
 * 29400, so two runs on one machine (or two test files) would collide.
 */
function freeLocalPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolvePort(port));
    });
  });
}

/** Launches torchrun; relays JSON lines from stdout; resolves with the exit code and the last stderr line. */
async function runTorchTrainer({
  python,
  jobFile,
  out,
  processesPerNode,
  launch,
  onEvent,
  signal,
  onLaunch,
}: {
  python: string;
  jobFile: string;
  out: string;
  processesPerNode: number;
  launch: TorchLaunchSettings;
  onEvent: ((event: TrainingEvent) => void) | undefined;
  signal: AbortSignal | undefined;
  onLaunch: ((processId: number) => void) | undefined;
}): Promise<{ code: number | null; lastError: string }> {
  const nodes = launch.nodes;
  const rendezvous =
    nodes === undefined
      ? [
          "--nnodes=1",
          "--rdzv_backend=c10d",
          `--rdzv_endpoint=127.0.0.1:${await freeLocalPort()}`,
          `--rdzv_id=${randomUUID()}`,
        ]
      : [
          `--nnodes=${nodes.count}`,
          `--node_rank=${nodes.rank}`,
          `--master_addr=${nodes.masterAddress}`,
          `--master_port=${nodes.masterPort}`,
        ];
  const args = [
    "-m",
    "torch.distributed.run",
    ...rendezvous,
    `--nproc_per_node=${processesPerNode}`,
    // torch 1.13 on Python 3.11 cannot parse the default "0" (no redirect): its Std lookup skips the
    // zero flag. Redirecting stderr to a log and teeing it back leaves stdout (the metrics) untouched.
    "--redirects=2",
    "--tee=2",
    `--log_dir=${join(out, "torch-logs")}`,
    join(torchTrainerDirectory(), "train.py"),
    "--job",
    jobFile,
  ];
  const child = spawn(python, args, {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
    env: { ...process.env, OMP_NUM_THREADS: process.env.OMP_NUM_THREADS ?? "1" },
  });
  if (child.pid !== undefined) onLaunch?.(child.pid);
  // The whole job (torchrun and its workers) ends together.
  const abort = () => {
    if (child.pid !== undefined) process.kill(-child.pid, "SIGTERM");
  };
  signal?.addEventListener("abort", abort, { once: true });
  let lastError = "";
  createInterface({ input: child.stderr }).on("line", (line) => {
    if (line.trim() !== "") lastError = line.trim();
  });
  createInterface({ input: child.stdout }).on("line", (line) => {
    if (!line.startsWith("{")) return;
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    if (record.type === "step") {
      const fixed = { ...record, loss: record.loss ?? Number.NaN };
      appendMetrics({ directory: out, record: fixed });
      onEvent?.(fixed as Extract<TrainingEvent, { type: "step" }>);
    } else if (record.type === "eval") {
      const fixed = {
        ...record,
        loss: record.loss ?? Number.NaN,
        preferenceAccuracy: record.preferenceAccuracy ?? Number.NaN,
      };
      appendMetrics({ directory: out, record: fixed });
      onEvent?.(fixed as Extract<TrainingEvent, { type: "eval" }>);
    } else if (record.type === "checkpoint") {
      onEvent?.(record as Extract<TrainingEvent, { type: "checkpoint" }>);
    }
  });
  return new Promise((resolvePromise, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      signal?.removeEventListener("abort", abort);
      resolvePromise({ code, lastError });
    });
  });
}
