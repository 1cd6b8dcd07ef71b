import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { computePreferenceAccuracy } from "../data/preference-accuracy.js";
import { readPreferencePairs } from "../data/preference-pairs-reader.js";
import { createBlas } from "../engine/index.js";
import { createLocalModel } from "../llm/local-model.js";
import { randomWeights, testTokenizer, tinyConfig } from "../model/__fixtures__/tiny-models.js";
import { saveCheckpoint } from "../model/checkpoint.js";
import { exportGguf } from "../model/gguf/gguf-export.js";
import { saveTokenizer } from "../model/tokenizer/tokenizer.js";
import { type FakeLlmServer, startFakeLlmServer } from "../test-kit/fake-llm-server.js";
import { runCliProcess } from "./cli-process.js";

let directory: string;
let checkpoint: string;
let pairsPath: string;
let server: FakeLlmServer;

const rows = [
  { prompt: "The quick brown", chosen: " fox jumps", rejected: " dog sleeps" },
  { prompt: "Numbers: 1234 and", chosen: " café", rejected: " tea" },
  { prompt: "The quick brown f", chosen: "ox", rejected: " fox" },
  { prompt: "Q", chosen: " same", rejected: " same" },
  { prompt: "The lazy", chosen: " dog", rejected: " brown fox jumps over" },
  { prompt: "over the", chosen: " lazy dog", rejected: " quick" },
];

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), "sa-score-"));
  checkpoint = join(directory, "checkpoint");
  const config = tinyConfig();
  await saveCheckpoint({ directory: checkpoint, config, weights: randomWeights({ config, seed: 5, scale: 0.3 }) });

  const tokenizer = testTokenizer();
  const weights = randomWeights({ config, seed: 5, scale: 0.3 });
  await saveTokenizer({ directory: checkpoint, ...tokenizer });
  await exportGguf({ path: join(directory, "model.gguf"), config, weights, tokenizer, dtype: "f32", name: "tiny" });
  pairsPath = join(directory, "pairs.jsonl");
  writeFileSync(pairsPath, `${rows.map((row) => JSON.stringify(row)).join("\n")}\n`);
  server = await startFakeLlmServer({ scoreModel: checkpoint });
});
afterAll(async () => {
  await server?.close();
});

const environment = (): Record<string, string> => ({ STABLE_ALIGNMENT_CACHE: join(directory, "cache") });

interface ScoreJson {
  rows: number;
  pairs: number;
  accuracy: { value: number; lower: number; upper: number; count: number; confidence: number };
  invalid: number;
  skipped: number;
  calls: number;
  cachedCalls: number;
}

describe("stable-alignment score preference", () => {
  it("gives the same accuracy through local:, gguf: and a vLLM-style server; a second run is replayed from the cache", async () => {
    const local = await createLocalModel({ directory: checkpoint, blas: createBlas({ backend: "typescript" }) });
    const expected = await computePreferenceAccuracy({
      scorer: local,
      items: (await readPreferencePairs({ path: pairsPath })).items,
    });
    await local.close();

    const args = ["score", "preference", "--model", `openai:tiny@${server.url}/v1`, "--data", pairsPath, "--json"];
    const first = await runCliProcess({ args, cwd: directory, environment: environment() });
    expect(first.stderr).toMatch(/scored 5\/5 pairs/);
    expect(first.code).toBe(0);
    const result = JSON.parse(first.stdout) as ScoreJson;
    expect([result.rows, result.pairs, result.skipped]).toEqual([6, 5, 1]);
    // The straddling pair is invalid, not a number; the rest agree with local: item for item.
    expect(result.invalid).toBe(expected.invalid);
    expect(result.invalid).toBe(1);
    expect(result.accuracy).toEqual(expected.accuracy);
    expect(result.accuracy.lower).toBeLessThanOrEqual(result.accuracy.value);
    expect(result.accuracy.upper).toBeGreaterThanOrEqual(result.accuracy.value);
    const scoringRequests = server.requests.filter((request) => request.path === "/v1/completions").length;
    expect(scoringRequests).toBe(5);

    const second = await runCliProcess({ args, cwd: directory, environment: environment() });
    expect(second.code).toBe(0);
    const replayed = JSON.parse(second.stdout) as ScoreJson;
    expect(replayed.accuracy).toEqual(result.accuracy);
    expect([replayed.calls, replayed.cachedCalls]).toEqual([5, 5]);
    expect(server.requests.filter((request) => request.path === "/v1/completions")).toHaveLength(scoringRequests);

    const text = await runCliProcess({
      args: ["score", "preference", "--model", `local:${checkpoint}`, "--data", pairsPath, "--threads", "1"],
      cwd: directory,
      environment: environment(),
    });
    expect(text.code).toBe(0);
    expect(text.stdout).toBe(
      `preference accuracy ${expected.accuracy.value.toFixed(4)} (95% CI ${expected.accuracy.lower.toFixed(4)} to ${expected.accuracy.upper.toFixed(4)}) over 4 pairs; 1 invalid, 1 skipped of 6 rows\n`,
    );
    expect(text.stderr).toMatch(/skipped 1: chosen and rejected are identical/);

    // The same model exported to GGUF (f32), run by llama.cpp, gives the same result.
    const gguf = await runCliProcess({
      args: ["score", "preference", "--model", `gguf:${join(directory, "model.gguf")}`, "--data", pairsPath, "--json"],
      cwd: directory,
      environment: environment(),
    });
    expect(gguf.code).toBe(0);
    const ggufResult = JSON.parse(gguf.stdout) as ScoreJson;
    expect([ggufResult.accuracy, ggufResult.invalid]).toEqual([expected.accuracy, 1]);
  });

  it("refuses a model that cannot score in one line, exit 1, before reading the data", async () => {
    const refused = await runCliProcess({
      args: ["score", "preference", "--model", "openai:gpt-4o-mini", "--data", join(directory, "absent.jsonl")],
      cwd: directory,
      environment: { ...environment(), OPENAI_API_KEY: "sk-never-used-0123456789" },
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      "error: openai:gpt-4o-mini cannot score continuations (its capabilities have no likelihood scoring); use local:<dir>, gguf:<file> or a vLLM server (openai:<model>@<url>)\n",
    );
  });

  it("names the file, line and field of a malformed pair", async () => {
    const bad = join(directory, "bad.jsonl");
    writeFileSync(bad, `${JSON.stringify(rows[0])}\n{"prompt":"Q","chosen":" a"}\n`);
    const result = await runCliProcess({
      args: ["score", "preference", "--model", `openai:tiny@${server.url}/v1`, "--data", bad],
      cwd: directory,
      environment: environment(),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`error: ${bad}:2: field "rejected" must be a string\n`);
  });
});
