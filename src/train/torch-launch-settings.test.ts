/** The launch combinations `train --backend torch` refuses before any work, one line naming the flag. */
import { describe, expect, it } from "vitest";
import { torchLaunchProblem } from "./torch-launch-settings.js";
import type { TorchPython } from "./torch-python.js";

const gpuTorch: TorchPython = {
  python: "/usr/bin/python3",
  pythonVersion: "3.11.2",
  torchVersion: "2.4.0",
  cudaDevices: [{ name: "GPU", memoryBytes: 80e9 }],
  torchrun: true,
  fsdp: true,
  fsdpOriginalParameters: true,
};
const plain = { weightDecay: 0 };

describe("torchLaunchProblem", () => {
  it("refuses --fsdp off CUDA from the flags alone (before any interpreter is probed)", () => {
    for (const fsdp of ["full", "grad-op"] as const) {
      const problem = torchLaunchProblem({ launch: { fsdp }, settings: plain });
      expect(problem?.field).toBe("fsdp");
      expect(problem?.message).toBe(
        `--fsdp ${fsdp} needs --device cuda: FSDP shards the model over CUDA devices (on CPU pass --fsdp none; several CPU processes use DDP)`,
      );
      expect(torchLaunchProblem({ launch: { fsdp, device: "cpu" }, settings: plain })?.field).toBe("fsdp");
    }
    expect(torchLaunchProblem({ launch: { fsdp: "none" }, settings: plain })).toBeUndefined();
    expect(torchLaunchProblem({ launch: { fsdp: "full", device: "cuda" }, settings: plain })).toBeUndefined();
  });

  it("refuses --fsdp on a torch that cannot import FSDP, or lacks use_orig_params for LoRA or weight decay", () => {
    const launch = { fsdp: "full", device: "cuda" } as const;
    const noFsdp = { ...gpuTorch, torchVersion: "1.13.0", fsdp: false, fsdpOriginalParameters: false };
    expect(torchLaunchProblem({ launch, settings: plain, python: noFsdp })?.message).toMatch(
      /^--fsdp full: \/usr\/bin\/python3 \(torch 1\.13\.0\) cannot import FullyShardedDataParallel; install torch >= 2\.0/,
    );
    const old = { ...gpuTorch, torchVersion: "1.13.1", fsdpOriginalParameters: false };
    expect(torchLaunchProblem({ launch, settings: plain, python: old })).toBeUndefined();
    expect(torchLaunchProblem({ launch, settings: { weightDecay: 0.01 }, python: old })?.message).toMatch(
      /^--fsdp full with --weight-decay above 0 needs FSDP's use_orig_params/,
    );
    const lora = { weightDecay: 0, lora: { rank: 4, alpha: 8, dropout: 0, targets: ["q" as const] } };
    expect(torchLaunchProblem({ launch, settings: lora, python: old })?.message).toMatch(
      /^--fsdp full with LoRA needs/,
    );
    expect(torchLaunchProblem({ launch, settings: lora, python: gpuTorch })).toBeUndefined();
  });

  it("refuses --device cuda without a CUDA device, and more processes than devices", () => {
    const cpuTorch = { ...gpuTorch, cudaDevices: [] };
    expect(torchLaunchProblem({ launch: { device: "cuda" }, settings: plain, python: cpuTorch })).toMatchObject({
      field: "device",
      message: expect.stringMatching(/^--device cuda: \/usr\/bin\/python3 \(torch 2\.4\.0\) sees no CUDA device/),
    });
    expect(
      torchLaunchProblem({ launch: { device: "cuda", processesPerNode: 2 }, settings: plain, python: gpuTorch }),
    ).toMatchObject({ field: "nproc-per-node" });
    expect(torchLaunchProblem({ launch: { processesPerNode: 4 }, settings: plain, python: cpuTorch })).toBeUndefined();
  });
});
