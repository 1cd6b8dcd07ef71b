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
import { type FakeLlmServer, startFakeLlmServer } from "../test-kit/fake-llm-server.js";
import { createLlamaCppModel, type LlamaCppModel } from "./llama-cpp-model.js";
import { createLocalModel, type LocalModel } from "./local-model.js";
import { createMemoryResponseCacheStore } from "./middleware/memory-response-cache-store.js";
import { createModelStack, type ModelStack } from "./model-stack.js";
import { createOpenAICompatible } from "./openai-compatible.js";

const tokenizer = testTokenizer();
const config = tinyConfig();
let directory: string;
let local: LocalModel;
let gguf: LlamaCppModel;
let server: FakeLlmServer;
let stack: ModelStack;

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
  // The third path: vLLM's echo protocol from the fake server scoring with the same checkpoint, through
  // the full stack (cache, usage, retry, balancer, limiter) the CLI builds.
  server = await startFakeLlmServer({ scoreModel: checkpoint });
  stack = createModelStack({
    replicas: createOpenAICompatible({
      baseURL: server.url,
      model: "tiny",
      pricePerMillionTokens: { prompt: 0, completion: 0 },
    }),
    cacheStore: createMemoryResponseCacheStore(),
  });
});
afterAll(async () => {
  await local?.close();
  await gguf?.close();
  await server?.close();
  await rm(directory, { recursive: true, force: true });
});

const requests: ScoreRequest[] = [
  { context: "The quick brown", continuations: [" fox", " fox jumps over the lazy dog", "ish", " quick brown"] },
  { context: "", continuations: ["The quick brown fox"] },
  { context: "Numbers: 1234 and café", continuations: [" 🙂 ok", " yes", " no"] },
  { context: "The quick brown f", continuations: ["ox", " fox"] },
];

/** Equal validity and numbers within 1e-3; invalid results give the same reason unless `anyReason`. */
function expectAgreement(
  ours: ContinuationScore[],
  theirs: ContinuationScore[],
  { anyReason = false }: { anyReason?: boolean } = {},
): void {
  expect(theirs.map((score) => score.valid)).toEqual(ours.map((score) => score.valid));
  for (const [index, score] of ours.entries()) {
    const other = theirs[index] as ContinuationScore;
    if (!score.valid || !other.valid) {
      if (anyReason) expect(other.valid).toBe(score.valid);
      else expect(other).toEqual(score);
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

  it("the fake vLLM server scoring with the checkpoint, through the full model stack, agrees with local:", async () => {
    expect(stack.model.capabilities.score).toBe(true);
    const score = stack.model.score;
    if (score === undefined) throw new Error("the stack has no score");
    for (const request of requests) {
      const theirs = await score(request);
      expect(theirs.cached).toBeUndefined();
      if (request.context === "") {
        // This tokenizer adds no BOS, and vLLM conditions on nothing else: the first echoed token has no
        // log-probability, so the score is invalid (local: prepends BOS itself), never a made-up number.
        expect(theirs.scores).toEqual([
          { valid: false, reason: "the continuation starts the prompt: nothing conditions its first token" },
        ]);
        continue;
      }
      // The echo reader words its reasons from what the server sent; validity must match.
      expectAgreement((await local.score(request)).scores, theirs.scores, { anyReason: true });
    }
    // The straddling continuation is invalid through the echo protocol too.
    const straddling = (await score(requests[3] as ScoreRequest)).scores[0];
    expect(straddling?.valid).toBe(false);
    // A second identical call is replayed by the cache: no request reaches the server.
    const before = server.requests.length;
    const replayed = await score(requests[0] as ScoreRequest);
    expect(replayed.cached).toBe(true);
    expectAgreement((await local.score(requests[0] as ScoreRequest)).scores, replayed.scores, { anyReason: true });
    expect(server.requests.length).toBe(before);
    expect(stack.usageMeter.totals().cachedCalls).toBe(2);
  });

  it("llama.cpp still generates after scoring on the same sequence", async () => {
    const result = await gguf.generate({ prompt: "The quick", sampling: { maxTokens: 4 } });
    expect(result.usage.completionTokens).toBeGreaterThan(0);
  });
});
