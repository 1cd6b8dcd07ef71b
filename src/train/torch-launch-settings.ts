/**
 * Where `train --backend torch` runs and how it is launched, and the combinations refused before any
 * work (one line naming the flag): FSDP off CUDA or on a torch without it, CUDA with no device.
 */
import type { TorchPython } from "./torch-python.js";
import type { TrainingSettings } from "./training-settings.js";

/** Where the torch trainer runs and how it is launched. */
export interface TorchLaunchSettings {
  /** Interpreter with torch (default: the first of python3, /usr/bin/python3 that imports torch). */
  python?: string;
  /** Default `cpu`. */
  device?: "cpu" | "cuda";
  /** Processes on this node (torchrun --nproc_per_node). Default 1. */
  processesPerNode?: number;
  /** Several machines: all four set, the run directory on storage every node sees. */
  nodes?: { count: number; rank: number; masterAddress: string; masterPort: number };
  /** fp32 (default) or bf16 (autocast; with FSDP also bf16 parameters in compute, fp32 gradient reduction). */
  precision?: "fp32" | "bf16";
  /**
   * Default none (one model per process; DistributedDataParallel with several). full: FSDP sharding
   * parameters, gradients and optimizer state (FULL_SHARD); grad-op: gradients and optimizer state only
   * (SHARD_GRAD_OP). Each decoder block is one FSDP unit. CUDA only.
   */
  fsdp?: "full" | "grad-op" | "none";
}

/** The flag a refusal names and its one line. */
export interface TorchLaunchProblem {
  field: string;
  message: string;
}

/**
 * Why `launch` cannot run, or undefined. Without `python` (not probed yet) only what the flags alone
 * decide is checked; with it, also what the interpreter's torch offers.
 */
export function torchLaunchProblem({
  launch,
  settings,
  python,
}: {
  launch: TorchLaunchSettings;
  settings: { weightDecay: number; lora?: TrainingSettings["lora"] };
  python?: TorchPython;
}): TorchLaunchProblem | undefined {
  const { device = "cpu", fsdp = "none", processesPerNode = 1 } = launch;
  if (fsdp !== "none" && device !== "cuda")
    return {
      field: "fsdp",
      message: `--fsdp ${fsdp} needs --device cuda: FSDP shards the model over CUDA devices (on CPU pass --fsdp none; several CPU processes use DDP)`,
    };
  if (python === undefined) return undefined;
  const torch = `${python.python} (torch ${python.torchVersion})`;
  if (fsdp !== "none" && !python.fsdp)
    return {
      field: "fsdp",
      message: `--fsdp ${fsdp}: ${torch} cannot import FullyShardedDataParallel; install torch >= 2.0 (pip install 'torch>=2.0') or pass --fsdp none`,
    };
  if (fsdp !== "none" && !python.fsdpOriginalParameters && (settings.lora !== undefined || settings.weightDecay > 0))
    return {
      field: "fsdp",
      message: `--fsdp ${fsdp} with ${settings.lora !== undefined ? "LoRA" : "--weight-decay above 0"} needs FSDP's use_orig_params, which ${torch} lacks; install torch >= 2.0 (pip install 'torch>=2.0')`,
    };
  if (device === "cuda" && python.cudaDevices.length === 0)
    return {
      field: "device",
      message: `--device cuda: ${torch} sees no CUDA device; install a CUDA build of torch, or pass --device cpu`,
    };
  if (device === "cuda" && processesPerNode > python.cudaDevices.length)
    return {
      field: "nproc-per-node",
      message: `--nproc-per-node ${processesPerNode} exceeds the ${python.cudaDevices.length} CUDA device(s) ${torch} sees`,
    };
  return undefined;
}
