/**
 * `train --backend torch` through the CLI: torch flags without the backend and a missing torch are
 * refused in one line before anything is written; with torch installed, a run draws its events from
 * the Python trainer's metrics and leaves a model `local:` loads.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomWeights, testTokenizer, tinyConfig } from "../model/__fixtures__/tiny-models.js";
import { saveCheckpoint } from "../model/checkpoint.js";
import { saveTokenizer } from "../model/tokenizer/tokenizer.js";
import { findTorchPython } from "../train/torch-python.js";
import { runCliProcess } from "./cli-process.js";

const torch = findTorchPython();
const missing = "missing" in torch;
if (missing) console.warn("python3-torch not installed: the CLI torch run is skipped");
/** This machine could run FSDP (CUDA and an importable FSDP): nothing to refuse; scripts/torch-gpu-check.sh runs it. */
const fsdpRunnable = !("missing" in torch) && torch.fsdp && torch.cudaDevices.length > 0;

let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "train-torch-cli-"));
  const tokenizer = testTokenizer();
  const config = tinyConfig({ vocabularySize: tokenizer.vocabularySize, maxPositions: 64 });
  await saveCheckpoint({ directory: join(directory, "model"), config, weights: randomWeights({ config, seed: 2 }) });
  await saveTokenizer({
    directory: join(directory, "model"),
    tokenizerJson: tokenizer.tokenizerJson,
    tokenizerConfig: tokenizer.tokenizerConfig,
  });
  const rows = Array.from({ length: 6 }, (_, index) => ({
    query: `Question ${index}: should I be kind?`,
    responses: ["Be kind and tell the truth.", "Hurting people is bad."],
    scores: [7, 1 + (index % 3)],
    models: ["a", "a"],
    kind: "imitation",
  }));
  await writeFile(join(directory, "sa.json"), JSON.stringify(rows));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

const trainArgs = (out: string, extra: string[]) => [
  "train",
  "--model",
  join(directory, "model"),
  "--data",
  join(directory, "sa.json"),
  "--out",
  out,
  "--epochs",
  "1",
  "--grad-accum",
  "2",
  "--eval-split",
  "0",
  "--max-length",
  "48",
  "--json",
  ...extra,
];

describe("train --backend torch (CLI)", () => {
  it.each([
    { extra: ["--device", "cuda"], message: /^error: --device needs --backend torch/ },
    {
      extra: ["--backend", "torch", "--nnodes", "2"],
      message: /^error: --nnodes, --node-rank, --master-addr and --master-port go together/,
    },
    {
      extra: ["--backend", "torch", "--fsdp", "full"],
      message:
        /^error: --fsdp full needs --device cuda: FSDP shards the model over CUDA devices \(on CPU pass --fsdp none; several CPU processes use DDP\)$/,
    },
    {
      extra: ["--backend", "torch", "--python", "/nonexistent/python3"],
      message: /^error: no Python with PyTorch found \(tried \/nonexistent\/python3\): install it .*--python/,
    },
  ])("refuses $extra in one line, writing nothing", async ({ extra, message }) => {
    const out = join(directory, "refused");
    const result = await runCliProcess({ args: trainArgs(out, extra) });
    expect(result.code).not.toBe(0);
    const errors = result.stderr.split("\n").filter((line) => line.startsWith("error:"));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(message);
    expect(existsSync(out)).toBe(false);
  });

  it.skipIf(missing || fsdpRunnable)(
    "refuses --device cuda --fsdp full in one line when this torch cannot run it, writing nothing",
    async () => {
      const out = join(directory, "refused-fsdp");
      const result = await runCliProcess({
        args: trainArgs(out, ["--backend", "torch", "--device", "cuda", "--fsdp", "full"]),
      });
      expect(result.code).not.toBe(0);
      const errors = result.stderr.split("\n").filter((line) => line.startsWith("error:"));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(
        /^error: --(fsdp full: .* cannot import FullyShardedDataParallel|device cuda: .* sees no CUDA device)/,
      );
      expect(existsSync(out)).toBe(false);
    },
    60_000,
  );

  it.skipIf(missing)(
    "trains with PyTorch: step events from its metrics, the model in <out>/model",
    async () => {
      const out = join(directory, "torch");
      const result = await runCliProcess({ args: trainArgs(out, ["--backend", "torch", "--device", "cpu"]) });
      expect(result.code, result.stderr).toBe(0);
      const events = result.stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as { type: string; step?: number; loss?: number });
      const steps = events.filter((event) => event.type === "step");
      expect(steps.map((event) => event.step)).toEqual([1, 2, 3]);
      for (const step of steps) expect(Number.isFinite(step.loss)).toBe(true);
      expect(events.at(-1)).toMatchObject({ type: "done", step: 3, model: join(out, "model") });
      expect(existsSync(join(out, "model", "model.safetensors"))).toBe(true);
      expect((await readFile(join(out, "metrics.jsonl"), "utf8")).trim().split("\n")).toHaveLength(3);
    },
    120_000,
  );
});
