/**
 * `hf:<owner>/<repo>` checkpoints through the real CLI, with HF_ENDPOINT pointed at a fake hub on
 * 127.0.0.1: `generate` downloads a sharded Qwen2 checkpoint once and answers as `local:` does on the
 * same files; `train --model hf:...` then trains it from the cache without asking the hub anything.
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomWeights, testTokenizer, tinyConfig } from "../model/__fixtures__/tiny-models.js";
import { loadCheckpoint, saveCheckpoint } from "../model/checkpoint.js";
import { saveTokenizer } from "../model/tokenizer/tokenizer.js";
import { type FakeHuggingFaceHub, startFakeHuggingFaceHub } from "../test-kit/fake-hugging-face-hub.js";
import { runCliProcess } from "./cli-process.js";

let directory: string;
let repository: string;
let hub: FakeHuggingFaceHub;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "hf-checkpoint-command-"));
  repository = join(directory, "repository");
  const tokenizer = testTokenizer();
  const config = tinyConfig({
    family: "qwen2",
    queryKeyValueBias: true,
    tieWordEmbeddings: true,
    vocabularySize: tokenizer.vocabularySize,
    maxPositions: 64,
  });
  await saveCheckpoint({
    directory: repository,
    config,
    weights: randomWeights({ config }),
    maximumShardBytes: 60_000,
  });
  await saveTokenizer({
    directory: repository,
    tokenizerJson: tokenizer.tokenizerJson,
    tokenizerConfig: tokenizer.tokenizerConfig,
  });
  hub = await startFakeHuggingFaceHub({ repositories: { "owner/qwen2@main": repository } });
  const rows = Array.from({ length: 4 }, (_, index) => ({
    query: `Question ${index}: should I be kind?`,
    responses: ["Be kind and tell the truth.", "Hurting people is bad.", "I cannot help with that."],
    scores: [7, 1 + (index % 3), 4],
    models: ["a", "a", "a"],
    kind: "imitation",
  }));
  await writeFile(join(directory, "sa.json"), JSON.stringify(rows));
});
afterAll(async () => {
  await hub.close();
  await rm(directory, { recursive: true, force: true });
});

describe("hf:<owner>/<repo> checkpoints in the CLI", () => {
  it("downloads once for generate (same text as local: on the same files), then trains from the cache", async () => {
    const cache = join(directory, "cache");
    const environment = { STABLE_ALIGNMENT_CACHE: cache, HF_ENDPOINT: hub.url };
    const generate = (model: string) =>
      runCliProcess({
        args: ["generate", "--model", model, "--prompt", "Be kind", "--completion", "--greedy", "--max-tokens", "4"],
        cwd: directory,
        environment,
      });
    const first = await generate("hf:owner/qwen2");
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/downloading hf:owner\/qwen2 model-00001-of-0000\d\.safetensors/);
    const asked = hub.requests.length;
    expect(hub.requests.filter((request) => request.path.endsWith(".safetensors")).length).toBeGreaterThan(1);
    const local = await generate(`local:${repository}`);
    expect(local.code, local.stderr).toBe(0);
    expect(first.stdout).toBe(local.stdout);
    const second = await generate("local:hf:owner/qwen2");
    expect(second.stdout).toBe(first.stdout);
    expect(hub.requests).toHaveLength(asked);

    const out = join(directory, "run");
    const train = await runCliProcess({
      args: [
        ...["train", "--model", "hf:owner/qwen2", "--data", join(directory, "sa.json"), "--out", out],
        ...[
          "--threads",
          "1",
          "--epochs",
          "1",
          "--grad-accum",
          "2",
          "--eval-split",
          "0",
          "--max-length",
          "48",
          "--json",
        ],
      ],
      cwd: directory,
      environment,
    });
    expect(train.code, train.stderr).toBe(0);
    // Trained from the cached files: the hub was asked nothing more.
    expect(hub.requests).toHaveLength(asked);
    expect(existsSync(join(out, "model", "config.json"))).toBe(true);
    const trained = await loadCheckpoint({ directory: join(out, "model") });
    const start = await loadCheckpoint({ directory: repository });
    const name = "model.layers.0.self_attn.q_proj.bias";
    expect(trained.config.family).toBe("qwen2");
    expect(trained.weights.get(name)).not.toEqual(start.weights.get(name));
  });

  it("refuses a GGUF file as --model for train, in one line and before writing anything", async () => {
    const out = join(directory, "refused");
    const result = await runCliProcess({
      args: ["train", "--model", "hf:owner/qwen2/model.gguf", "--data", join(directory, "sa.json"), "--out", out],
      cwd: directory,
      environment: { STABLE_ALIGNMENT_CACHE: join(directory, "cache"), HF_ENDPOINT: hub.url },
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr.trim()).toMatch(
      /--model hf:owner\/qwen2\/model\.gguf names a GGUF file; --model takes a checkpoint: a directory or hf:<owner>\/<repo>\[@revision\]$/,
    );
    // The engine line, then one error line.
    expect(
      result.stderr
        .trim()
        .split("\n")
        .filter((line) => !line.startsWith("engine: ")),
    ).toHaveLength(1);
    expect(existsSync(out)).toBe(false);
  });
});
