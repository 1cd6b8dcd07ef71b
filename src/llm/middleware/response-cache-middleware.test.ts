import { describe, expect, it } from "vitest";
import { ProviderError } from "../../spec/errors.js";
import type { GenerateRequest, GenerateResult, LanguageModel } from "../../spec/language-model.js";
import { createMemoryResponseCacheStore } from "./memory-response-cache-store.js";
import {
  type CacheHit,
  canonicalJson,
  createResponseCacheMiddleware,
  responseCacheKey,
} from "./response-cache-middleware.js";

/** A model answering `answer-N` for its N-th call, after an optional gate. */
function countingModel(gate?: Promise<void>): LanguageModel & { calls: GenerateRequest[] } {
  const calls: GenerateRequest[] = [];
  return {
    provider: "test",
    modelId: "model-a",
    capabilities: { chat: true, completion: true, jsonSchema: true, grammar: false },
    calls,
    async generate(request) {
      calls.push(request);
      if (gate !== undefined) await gate;
      return {
        text: `answer-${calls.length}`,
        finishReason: "stop",
        usage: { promptTokens: 2, completionTokens: 3 },
        modelId: "backend-name",
      };
    },
  };
}

const question: GenerateRequest = {
  messages: [{ role: "user", content: "Is honesty good?" }],
  sampling: { temperature: 1 },
};

describe("responseCacheKey", () => {
  it("ignores key order and absent fields, and distinguishes everything else", () => {
    const base = responseCacheKey("m", question);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(responseCacheKey("m", { sampling: { temperature: 1, seed: undefined }, messages: question.messages })).toBe(
      base,
    );
    expect(responseCacheKey("other", question)).not.toBe(base);
    expect(responseCacheKey("m", { ...question, callIdentity: "run:1/agent:2" })).not.toBe(base);
    expect(responseCacheKey("m", { ...question, sampling: { temperature: 0.5 } })).not.toBe(base);
    expect(responseCacheKey("m", { prompt: "Is honesty good?" })).not.toBe(
      responseCacheKey("m", { messages: question.messages }),
    );
    const schemaA = { type: "json-schema", name: "r", schema: { type: "object", required: ["a"] } } as const;
    const schemaB = { name: "r", schema: { required: ["a"], type: "object" }, type: "json-schema" } as const;
    expect(responseCacheKey("m", { ...question, responseFormat: schemaA })).toBe(
      responseCacheKey("m", { ...question, responseFormat: schemaB }),
    );
  });

  it("canonicalJson sorts keys at every depth and keeps array order", () => {
    expect(canonicalJson({ b: [2, { d: 1, c: undefined, a: null }], a: "x" })).toBe(
      '{"a":"x","b":[2,{"a":null,"d":1}]}',
    );
  });
});

describe("createResponseCacheMiddleware", () => {
  it("replays a stored result with cached: true and no model call", async () => {
    const store = createMemoryResponseCacheStore();
    const hits: CacheHit[] = [];
    const model = countingModel();
    const cached = createResponseCacheMiddleware({ store, onCacheHit: (hit) => hits.push(hit) })(model);
    const first = await cached.generate(question);
    const second = await cached.generate(question);
    expect(first.cached).toBeUndefined();
    expect(second).toEqual({ ...first, cached: true });
    expect(model.calls).toHaveLength(1);
    expect(store.size).toBe(1);
    expect(hits.map((hit) => [hit.modelId, "text" in hit.result ? hit.result.text : undefined])).toEqual([
      ["model-a", "answer-1"],
    ]);
  });

  it("keeps calls with different call identities apart", async () => {
    const model = countingModel();
    const cached = createResponseCacheMiddleware({ store: createMemoryResponseCacheStore() })(model);
    const sampleOne = await cached.generate({ ...question, callIdentity: "sample:1" });
    const sampleTwo = await cached.generate({ ...question, callIdentity: "sample:2" });
    expect(sampleOne.text).not.toBe(sampleTwo.text);
    expect((await cached.generate({ ...question, callIdentity: "sample:2" })).text).toBe(sampleTwo.text);
    expect(model.calls).toHaveLength(2);
  });

  it("coalesces identical calls in flight into one model call", async () => {
    let open = (): void => {};
    const model = countingModel(new Promise<void>((resolve) => (open = resolve)));
    const hits: CacheHit[] = [];
    const cached = createResponseCacheMiddleware({
      store: createMemoryResponseCacheStore(),
      onCacheHit: (hit) => hits.push(hit),
    })(model);
    const calls = [cached.generate(question), cached.generate(question), cached.generate(question)];
    open();
    const results = await Promise.all(calls);
    expect(model.calls).toHaveLength(1);
    expect(results.map((result) => result.text)).toEqual(["answer-1", "answer-1", "answer-1"]);
    expect(results.map((result) => result.cached === true)).toEqual([false, true, true]);
    expect(hits).toHaveLength(2);
  });

  it("caches no failure, and a failed leader lets a waiting twin call the model itself", async () => {
    let calls = 0;
    let open = (): void => {};
    const gate = new Promise<void>((resolve) => (open = resolve));
    const model: LanguageModel = {
      provider: "test",
      modelId: "m",
      capabilities: { chat: true, completion: true, jsonSchema: false, grammar: false },
      async generate(): Promise<GenerateResult> {
        calls += 1;
        if (calls === 1) {
          await gate;
          throw new ProviderError("down", { retryable: true, status: 503 });
        }
        return { text: "fine", finishReason: "stop", usage: { promptTokens: 1, completionTokens: 1 }, modelId: "m" };
      },
    };
    const store = createMemoryResponseCacheStore();
    const cached = createResponseCacheMiddleware({ store })(model);
    const leader = cached.generate(question);
    const twin = cached.generate(question);
    open();
    await expect(leader).rejects.toBeInstanceOf(ProviderError);
    expect((await twin).text).toBe("fine");
    expect(calls).toBe(2);
    expect(store.size).toBe(1);
  });
});
