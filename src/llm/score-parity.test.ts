/**
 * One checkpoint, three ways of scoring it: our decoder (`local:`), llama.cpp on its f32 GGUF export
 * (`gguf:`), and (through the fake server) the OpenAI-compatible echo protocol. Per continuation they
 * must agree, and the same straddling token must be invalid everywhere.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBlas } from "../engine/index.js";
import { randomWeights, testTokenizer, tinyConfig } from "../model/__fixtures__/tiny-models.js";
import { saveCheckpoint } from "../model/checkpoint.js";
import { exportGguf } from "../model/gguf/gguf-export.js";
import { saveTokenizer } from "../model/tokenizer/tokenizer.js";
import type { ContinuationScore, ScoreRequest } from "../spec/scoring.js";
import { createLlamaCppModel, type LlamaCppModel } from "./llama-cpp-model.js";
import { createLocalModel, type LocalModel } from "./local-model.js";

const tokenizer = testTokenizer();
const config = tinyConfig();
let directory: string;
let local: LocalModel;
let gguf: LlamaCppModel;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "score-parity-"));
  const checkpoint = join(directory, "checkpoint");
  const weights = randomWeights({ config, seed: 11, scale: 0.3 });
  await saveCheckpoint({ directory: checkpoint, config, weights });
  await saveTokenizer({ directory: checkpoint, ...tokenizer });
  await exportGguf({ path: join(directory, "model.gguf"), config, weights, tokenizer, dtype: "f32", name: "tiny" });
  local = await createLocalModel({ directory: checkpoint, blas: createBlas({ backend: "typescript" }) });
  gguf = await createLlamaCppModel({
    modelPath: join(directory, "model.gguf"),
    threads: 1,
    gpu: false,
    contextSize: 256,
    parallelSequences: 1,
    attention: "exact",
  });
});
afterAll(async () => {
  await local?.close();
  await gguf?.close();
  await rm(directory, { recursive: true, force: true });
});

const requests: ScoreRequest[] = [
  { context: "The quick brown", continuations: [" fox", " fox jumps over the lazy dog", "ish", " quick brown"] },
  { context: "", continuations: ["The quick brown fox"] },
  { context: "Numbers: 1234 and café", continuations: [" 🙂 ok", " yes", " no"] },
  { context: "The quick brown f", continuations: ["ox", " fox"] },
];

function expectAgreement(ours: ContinuationScore[], theirs: ContinuationScore[]): void {
  expect(theirs.map((score) => score.valid)).toEqual(ours.map((score) => score.valid));
  for (const [index, score] of ours.entries()) {
    const other = theirs[index] as ContinuationScore;
    if (!score.valid || !other.valid) {
      expect(other).toEqual(score);
      continue;
    }
    expect(other.tokenCount).toBe(score.tokenCount);
    expect(Math.abs(other.logProbability - score.logProbability)).toBeLessThan(1e-3);
    for (const [position, value] of score.tokenLogProbabilities.entries()) {
      expect(Math.abs((other.tokenLogProbabilities[position] as number) - value)).toBeLessThan(1e-3);
    }
  }
}

describe("score parity", () => {
  it("local: and gguf: (f32 export in llama.cpp) agree per continuation within 1e-3", async () => {
    for (const request of requests) {
      const ours = await local.score(request);
      const theirs = await gguf.score?.(request);
      if (!theirs) throw new Error("gguf: has no score");
      expectAgreement(ours.scores, theirs.scores);
    }
    // The straddling continuation is invalid on both, not a number.
    const straddling = (await local.score(requests[3] as ScoreRequest)).scores[0];
    expect(straddling).toEqual({ valid: false, reason: "a token straddles the end of the context" });
  });

  it("llama.cpp still generates after scoring on the same sequence", async () => {
    const result = await gguf.generate({ prompt: "The quick", sampling: { maxTokens: 4 } });
    expect(result.usage.completionTokens).toBeGreaterThan(0);
  });
});
