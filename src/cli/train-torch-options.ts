/**
 * The `train` flags of the PyTorch backend (`--backend torch`) and the launch settings they give.
 * The run itself is src/train/torch-train-run.ts.
 */
import { type Command, Option } from "commander";
import { UsageError } from "../spec/errors.js";
import type { TorchLaunchSettings } from "../train/torch-launch-settings.js";
import { integerOption } from "./option-parsers.js";

/** The flags as commander parses them. */
export interface TorchBackendOptions {
  backend?: "engine" | "torch";
  python?: string;
  device?: "cpu" | "cuda";
  nprocPerNode?: number;
  nnodes?: number;
  nodeRank?: number;
  masterAddr?: string;
  masterPort?: number;
  precision?: "fp32" | "bf16";
  fsdp?: "full" | "grad-op" | "none";
}

/** Adds `--backend` and the torch launch flags to `command`. */
export function addTorchBackendOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        "--backend <name>",
        "engine: this package's CPU engine; torch: PyTorch through torchrun (GPUs, several processes or machines)",
      )
        .choices(["engine", "torch"])
        .default("engine"),
    )
    .option("--python <path>", "torch: the interpreter (default: the first of python3, /usr/bin/python3 with torch)")
    .addOption(new Option("--device <device>", "torch: where to train (default cpu)").choices(["cpu", "cuda"]))
    .option(
      "--nproc-per-node <n>",
      "torch: processes on this machine (default 1)",
      integerOption("--nproc-per-node", { min: 1 }),
    )
    .option(
      "--nnodes <n>",
      "torch: machines in the job (with --node-rank, --master-addr, --master-port)",
      integerOption("--nnodes", { min: 1 }),
    )
    .option("--node-rank <r>", "torch: this machine's rank, from 0", integerOption("--node-rank", { min: 0 }))
    .option("--master-addr <host>", "torch: the rendezvous host (rank 0's machine)")
    .option(
      "--master-port <port>",
      "torch: the rendezvous port",
      integerOption("--master-port", { min: 1, max: 65535 }),
    )
    .addOption(
      new Option(
        "--precision <p>",
        "torch: fp32 (default) or bf16 mixed precision (autocast; with FSDP bf16 parameters in compute)",
      ).choices(["fp32", "bf16"]),
    )
    .addOption(
      new Option(
        "--fsdp <mode>",
        "torch, CUDA: full (FSDP shards parameters, gradients, optimizer state) or grad-op (gradients and optimizer state); default none (DDP with several processes)",
      ).choices(["full", "grad-op", "none"]),
    );
}

/** The launch settings of the flags; UsageError naming the flag for a torch flag without `--backend torch`. */
export function torchLaunchSettings(options: TorchBackendOptions): TorchLaunchSettings | undefined {
  const torchFlags = [
    "python",
    "device",
    "nprocPerNode",
    "nnodes",
    "nodeRank",
    "masterAddr",
    "masterPort",
    "precision",
    "fsdp",
  ] as const;
  if (options.backend !== "torch") {
    const stray = torchFlags.find((key) => options[key] !== undefined);
    if (stray !== undefined) {
      const flag = `--${stray.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;
      throw new UsageError(`${flag} needs --backend torch`, { field: stray });
    }
    return undefined;
  }
  const nodeFlags = [options.nnodes, options.nodeRank, options.masterAddr, options.masterPort];
  const given = nodeFlags.filter((value) => value !== undefined).length;
  if (given !== 0 && given !== 4)
    throw new UsageError("--nnodes, --node-rank, --master-addr and --master-port go together", { field: "nnodes" });
  return {
    ...(options.python === undefined ? {} : { python: options.python }),
    ...(options.device === undefined ? {} : { device: options.device }),
    ...(options.nprocPerNode === undefined ? {} : { processesPerNode: options.nprocPerNode }),
    ...(options.precision === undefined ? {} : { precision: options.precision }),
    ...(options.fsdp === undefined ? {} : { fsdp: options.fsdp }),
    ...(given === 4
      ? {
          nodes: {
            count: options.nnodes as number,
            rank: options.nodeRank as number,
            masterAddress: options.masterAddr as string,
            masterPort: options.masterPort as number,
          },
        }
      : {}),
  };
}
