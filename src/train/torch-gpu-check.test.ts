/**
 * scripts/torch-gpu-check.sh on CPU (the GPU run itself needs CUDA): the committed batch fixture is what
 * scripts/make-torch-gpu-check-batches.ts writes with today's encoder, the shell script parses, and its
 * `--dry --device cpu` smoke run trains, kills, resumes and measures through the same code paths,
 * printing the JSON summary.
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { findTorchPython } from "./torch-python.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const fixtures = join(root, "scripts", "fixtures");
const missing = "missing" in findTorchPython();
if (missing) console.warn("python3-torch not installed: the torch GPU check's CPU smoke run is skipped");

describe("scripts/torch-gpu-check.sh", () => {
  it("carries the batch fixture today's encoder writes (under 2 MB), and the shell script parses", async () => {
    const directory = await mkdtemp(join(tmpdir(), "gpu-check-fixture-"));
    try {
      const made = spawnSync("npx", ["tsx", "scripts/make-torch-gpu-check-batches.ts", "--out", directory], {
        cwd: root,
        encoding: "utf8",
      });
      expect(made.status, made.stderr).toBe(0);
      expect(made.stdout).toMatch(/^40 micro-batches, 10 steps, \d+ bytes/);
      for (const name of ["torch-gpu-check-batches.bin", "torch-gpu-check-job.json"]) {
        const committed = await readFile(join(fixtures, name));
        expect(committed.byteLength, name).toBeLessThan(2 * 2 ** 20);
        expect(committed.equals(await readFile(join(directory, name))), name).toBe(true);
      }
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
    const syntax = spawnSync("bash", ["-n", join(root, "scripts", "torch-gpu-check.sh")], { encoding: "utf8" });
    expect(syntax.status, syntax.stderr).toBe(0);
  }, 60_000);

  it.skipIf(missing)(
    "--dry --device cpu: trains the fixture through torchrun, kills and resumes bit-identically, prints one JSON summary",
    () => {
      const result = spawnSync("bash", [join(root, "scripts", "torch-gpu-check.sh"), "--dry", "--device", "cpu"], {
        cwd: root,
        encoding: "utf8",
        timeout: 240_000,
      });
      expect(result.status, result.stderr.slice(-2000)).toBe(0);
      const lines = result.stdout.trim().split("\n");
      const summary = JSON.parse(lines.at(-1) as string) as {
        ok: boolean;
        dry: boolean;
        learns: { ok: boolean };
        killAndResume: {
          resumedSteps: number[];
          optimizerSteps: number;
          largestRelativeLossDifference: number;
          ok: boolean;
        };
        throughput: { trainerTokensPerSecond: number; plainTokensPerSecond: number; ok: boolean | null };
      };
      expect(summary).toMatchObject({ ok: true, dry: true });
      expect(summary.killAndResume.resumedSteps).toEqual([3]);
      expect(summary.killAndResume.optimizerSteps).toBe(3);
      expect(summary.learns.ok).toBe(true);
      expect(summary.killAndResume.largestRelativeLossDifference).toBe(0);
      expect(summary.throughput.trainerTokensPerSecond).toBeGreaterThan(0);
      expect(summary.throughput.plainTokensPerSecond).toBeGreaterThan(0);
      expect(summary.throughput.ok).toBeNull();
    },
    240_000,
  );
});
