/** `score` through every middleware layer: passed through, cached, metered, retried, limited, balanced. */
import { describe, expect, it } from "vitest";
import { BudgetExceededError, ProviderError } from "../../spec/errors.js";
import type { GenerateResult, LanguageModel } from "../../spec/language-model.js";
import type { ScoreRequest, ScoreResult } from "../../spec/scoring.js";
import { createModelStack } from "../model-stack.js";
import { createConcurrencyLimiter } from "./concurrency-limiter.js";
import { createLoadBalancer } from "./load-balancer.js";
import { createMemoryResponseCacheStore } from "./memory-response-cache-store.js";
import { createResponseCacheMiddleware, responseCacheKey, scoreCacheKey } from "./response-cache-middleware.js";
import { createRetryMiddleware } from "./retry-middleware.js";
import { createUsageMeter, estimateScoreTokens } from "./usage-meter.js";

interface CountingScorer extends LanguageModel {
  scoreCalls: ScoreRequest[];
}

/** A model that scores each continuation as -(its length), optionally failing or waiting first. */
function scorer({
  modelId = "scorer",
  failures = [],
  waitMs = 0,
  price,
  countPromptTokens,
}: {
  modelId?: string;
  failures?: ProviderError[];
  waitMs?: number;
  price?: { prompt: number; completion: number };
  countPromptTokens?: LanguageModel["countPromptTokens"];
} = {}): CountingScorer {
  const scoreCalls: ScoreRequest[] = [];
  return {
    provider: "test",
    modelId,
    capabilities: { chat: true, completion: true, jsonSchema: false, grammar: false, score: true },
    ...(price === undefined ? {} : { pricePerMillionTokens: price }),
    ...(countPromptTokens === undefined ? {} : { countPromptTokens }),
    scoreCalls,
    async generate(): Promise<GenerateResult> {
      return { text: "t", finishReason: "stop", usage: { promptTokens: 1, completionTokens: 1 }, modelId };
    },
    async score(request: ScoreRequest): Promise<ScoreResult> {
      scoreCalls.push(request);
      if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
      const failure = failures.shift();
      if (failure !== undefined) throw failure;
      return {
        scores: request.continuations.map((continuation) => ({
          valid: true,
          logProbability: -continuation.length,
          tokenLogProbabilities: [-continuation.length],
          tokenCount: 1,
        })),
        usage: { promptTokens: 10, completionTokens: 0 },
        modelId,
      };
    },
  };
}

function withoutScore(model: LanguageModel): LanguageModel {
  const { score: _score, ...rest } = model;
  return { ...rest, capabilities: { ...model.capabilities, score: false } };
}

describe("score through the middleware", () => {
  it("the full stack scores when the model does, and has no score (capability false) when it does not", async () => {
    const stack = createModelStack({ replicas: scorer(), cacheStore: createMemoryResponseCacheStore() });
    expect(stack.model.capabilities.score).toBe(true);
    const result = await stack.model.score?.({ context: "c", continuations: ["ab", "abc"] });
    expect(result?.scores.map((score) => (score.valid ? score.logProbability : Number.NaN))).toEqual([-2, -3]);
    const plain = createModelStack({ replicas: withoutScore(scorer()), cacheStore: createMemoryResponseCacheStore() });
    expect([plain.model.capabilities.score, plain.model.score]).toEqual([false, undefined]);
  });

  it("the cache replays an identical score call with no model work; continuations and identity are part of the key", async () => {
    const model = scorer();
    const store = createMemoryResponseCacheStore();
    const hits: string[] = [];
    const cached = createResponseCacheMiddleware({ store, onCacheHit: (hit) => hits.push(hit.modelId) })(model);
    const request = { context: "c", continuations: ["x", "yy"], callIdentity: "pref/1" };
    const first = await cached.score?.(request);
    const second = await cached.score?.({ ...request, continuations: ["x", "yy"] });
    expect([first?.cached, second?.cached]).toEqual([undefined, true]);
    expect(second?.scores).toEqual(first?.scores);
    expect(model.scoreCalls).toHaveLength(1);
    expect(hits).toEqual(["scorer"]);
    await cached.score?.({ ...request, continuations: ["yy", "x"] });
    await cached.score?.({ ...request, callIdentity: "pref/2" });
    expect(model.scoreCalls).toHaveLength(3);
    // Two identical calls in flight share one model call.
    const twins = await Promise.all([
      cached.score?.({ context: "d", continuations: ["z"] }),
      cached.score?.({ context: "d", continuations: ["z"] }),
    ]);
    expect(twins.map((result) => result?.cached === true).sort()).toEqual([false, true]);
    expect(model.scoreCalls).toHaveLength(4);
    expect(scoreCacheKey("m", { context: "", continuations: [] })).not.toBe(responseCacheKey("m", { prompt: "" }));
  });

  it("the usage meter reserves a score call before it starts: bytes / 3 remotely, exact counts in process", async () => {
    const request = { context: "abcdef", continuations: ["ghi", "jklmnopqr"] };
    // (6 + 3) / 3 + (6 + 9) / 3 = 3 + 5 tokens.
    expect(estimateScoreTokens(scorer(), request)).toBe(8);
    const counted = scorer({ countPromptTokens: (generate) => (generate.prompt ?? "").length });
    expect(estimateScoreTokens(counted, request)).toBe(24);
    // $1 per token: the reservation (8 prompt + 2 completion = $10) never fits a $9 budget.
    const model = scorer({ price: { prompt: 1_000_000, completion: 1_000_000 } });
    const meter = createUsageMeter({ budgetUsd: 9 });
    const metered = meter.middleware(model);
    await expect(metered.score?.(request)).rejects.toBeInstanceOf(BudgetExceededError);
    expect(model.scoreCalls).toHaveLength(0);
    // Under a larger budget it runs and settles with its real usage (10 prompt tokens).
    const roomy = createUsageMeter({ budgetUsd: 100 });
    await roomy.middleware(model).score?.(request);
    expect(roomy.budget()).toEqual({ budgetUsd: 100, spentUsd: 10, reservedUsd: 0 });
    expect(roomy.totals().promptTokens).toBe(10);
  });

  it("retry retries a retryable score failure; the limiter gives score calls slots; the balancer needs every replica to score", async () => {
    const flaky = scorer({
      failures: [new ProviderError("bad body", { code: "PROVIDER_BAD_RESPONSE", retryable: true, status: 200 })],
    });
    const retried = createRetryMiddleware({ sleep: async () => {} })(flaky);
    expect((await retried.score?.({ context: "c", continuations: ["a"] }))?.scores).toHaveLength(1);
    expect(flaky.scoreCalls).toHaveLength(2);

    const slow = scorer({ waitMs: 20 });
    const limiter = createConcurrencyLimiter({ maxConcurrency: 1 });
    const limited = limiter.middleware(slow);
    const calls = [
      limited.score?.({ context: "c", continuations: ["a"] }),
      limited.score?.({ context: "c", continuations: ["b"] }),
    ];
    expect([limiter.inFlight(), limiter.queued()]).toEqual([1, 1]);
    await Promise.all(calls);

    const a = scorer({ modelId: "a" });
    const b = scorer({ modelId: "b" });
    const balanced = createLoadBalancer({ replicas: [a, b] });
    await balanced.score?.({ context: "c", continuations: ["a"] });
    await balanced.score?.({ context: "c", continuations: ["a"] });
    expect([a.scoreCalls.length, b.scoreCalls.length]).toEqual([1, 1]);
    const mixed = createLoadBalancer({ replicas: [a, withoutScore(b)] });
    expect([mixed.capabilities.score, mixed.score]).toEqual([false, undefined]);
  });
});
