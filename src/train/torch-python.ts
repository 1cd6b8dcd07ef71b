/**
 * Finds the Python interpreter `train --backend torch` runs: the one named, or the first of `python3`
 * and `/usr/bin/python3` that imports torch (the `python3` on PATH may lack it). `doctor` reports it.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

/** What an interpreter with torch offers. */
export interface TorchPython {
  /** The interpreter (path or command name). */
  python: string;
  pythonVersion: string;
  torchVersion: string;
  /** CUDA devices torch sees, with total memory in bytes. */
  cudaDevices: { name: string; memoryBytes: number }[];
  /** `torch.distributed.run` (torchrun) imports. */
  torchrun: boolean;
  /** FullyShardedDataParallel imports (torch 1.13 on Python 3.11 cannot import it). */
  fsdp: boolean;
  /** FSDP takes `use_orig_params` (torch >= 2.0): needed for weight decay by dimension and LoRA. */
  fsdpOriginalParameters: boolean;
}

/** Why no interpreter with torch was found, as one line saying how to install what is missing. */
export interface TorchPythonMissing {
  missing: string;
}

/** The interpreters tried when none is named, in order. */
export const DEFAULT_TORCH_PYTHONS = ["python3", "/usr/bin/python3"] as const;

/** The directory of the package's Python trainer (`python/stable_alignment_torch`), from src/ or dist/. */
export function torchTrainerDirectory(): string {
  return fileURLToPath(new URL("../../python/stable_alignment_torch/", import.meta.url));
}

const PROBE = [
  "import json, sys, importlib.util",
  "import torch",
  "devices = [{'name': torch.cuda.get_device_name(i), 'memoryBytes': torch.cuda.get_device_properties(i).total_memory} for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []",
  "fsdp, original = False, False",
  "try:",
  "    import inspect",
  "    from torch.distributed.fsdp import FullyShardedDataParallel",
  "    fsdp, original = True, 'use_orig_params' in inspect.signature(FullyShardedDataParallel.__init__).parameters",
  "except Exception:",
  "    pass",
  "print(json.dumps({'pythonVersion': sys.version.split()[0], 'torchVersion': torch.__version__, 'cudaDevices': devices, 'torchrun': importlib.util.find_spec('torch.distributed.run') is not None, 'fsdp': fsdp, 'fsdpOriginalParameters': original}))",
].join("\n");

/** Probes one interpreter; undefined when it does not run or lacks torch. */
export function probeTorchPython({ python }: { python: string }): TorchPython | undefined {
  const result = spawnSync(python, ["-c", PROBE], { encoding: "utf8", timeout: 120_000 });
  if (result.status !== 0 || typeof result.stdout !== "string") return undefined;
  const line = result.stdout.trim().split("\n").at(-1) ?? "";
  try {
    return { python, ...(JSON.parse(line) as Omit<TorchPython, "python">) };
  } catch {
    return undefined;
  }
}

/** The interpreter to use, or one line on what is missing. `python` (default: try the defaults) names one. */
export function findTorchPython({ python }: { python?: string } = {}): TorchPython | TorchPythonMissing {
  const candidates = python === undefined ? [...DEFAULT_TORCH_PYTHONS] : [python];
  for (const candidate of candidates) {
    const found = probeTorchPython({ python: candidate });
    if (found?.torchrun) return found;
    if (found !== undefined)
      return {
        missing: `${candidate} has torch ${found.torchVersion} without torch.distributed.run; install torch >= 1.13`,
      };
  }
  const tried = candidates.join(", ");
  return {
    missing: `no Python with PyTorch found (tried ${tried}): install it (apt-get install python3-torch, or pip install 'torch>=1.13') or name an interpreter with --python`,
  };
}
