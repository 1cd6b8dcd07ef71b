import { afterEach, describe, expect, it } from "vitest";
import { BudgetExceededError, ProviderError } from "../spec/errors.js";
import type { ChatMessage } from "../spec/language-model.js";
import type { UsageEntry } from "../spec/response-cache.js";
import { type FakeLlmServer, startFakeLlmServer } from "../test-kit/fake-llm-server.js";
import { createMemoryResponseCacheStore } from "./middleware/memory-response-cache-store.js";
import type { RetryEvent } from "./middleware/retry-middleware.js";
import { createUsageMeter, estimatePromptTokens } from "./middleware/usage-meter.js";
import { createModelStack } from "./model-stack.js";
import { createOpenAICompatible } from "./openai-compatible.js";

const apiKey = "sk-stack-test-9876543210";
const servers: FakeLlmServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function server(options: Parameters<typeof startFakeLlmServer>[0] = {}): Promise<FakeLlmServer> {
  const started = await startFakeLlmServer(options);
  servers.push(started);
  return started;
}

function provider(url: string, options: { timeoutMs?: number; price?: { prompt: number; completion: number } } = {}) {
  return createOpenAICompatible({
    baseURL: url,
    apiKey,
    model: "fake-model",
    timeoutMs: options.timeoutMs ?? 120_000,
    pricePerMillionTokens: options.price ?? { prompt: 0, completion: 0 },
  });
}

/** Retry options whose waits are recorded and skipped, so tests never sleep. */
function instantRetry(): { waits: number[]; events: RetryEvent[]; options: object } {
  const waits: number[] = [];
  const events: RetryEvent[] = [];
  return {
    waits,
    events,
    options: {
      sleep: async (milliseconds: number) => {
        waits.push(milliseconds);
      },
      onRetry: (event: RetryEvent) => events.push(event),
    },
  };
}

const ask = (content: string): { messages: ChatMessage[] } => ({ messages: [{ role: "user", content }] });

describe("createModelStack against the fake server", () => {
  it("waits out a 429's Retry-After, then succeeds", async () => {
    const fake = await server({ respond: () => "after the wait" });
    fake.injectFaults([{ type: "rate-limit", retryAfter: "2" }]);
    const retry = instantRetry();
    const stack = createModelStack({ replicas: provider(fake.url), retry: retry.options });
    const result = await stack.model.generate(ask("q"));
    expect(result.text).toBe("after the wait");
    expect(retry.waits).toHaveLength(1);
    expect(retry.waits[0]).toBeGreaterThanOrEqual(2000);
    expect(fake.requests).toHaveLength(2);
  });

  it("times out a hung request and retries it", async () => {
    const fake = await server({ respond: () => "second try" });
    fake.injectFaults([{ type: "hang" }]);
    const retry = instantRetry();
    const stack = createModelStack({ replicas: provider(fake.url, { timeoutMs: 200 }), retry: retry.options });
    expect((await stack.model.generate(ask("q"))).text).toBe("second try");
    expect(retry.events.map((event) => event.error.code)).toEqual(["PROVIDER_TIMEOUT"]);
    expect(fake.requests).toHaveLength(2);
  });

  it("retries a truncated or non-JSON 200 body like a 5xx and counts every retry by cause", async () => {
    const fake = await server({ respond: () => "finally whole" });
    fake.injectFaults([
      { type: "truncated" },
      { type: "malformed", body: "Bad Gateway from the proxy" },
      { type: "server-error", status: 502 },
      { type: "rate-limit", retryAfter: "0" },
    ]);
    const retry = instantRetry();
    const stack = createModelStack({ replicas: provider(fake.url), retry: retry.options });
    expect((await stack.model.generate(ask("q"))).text).toBe("finally whole");
    expect(fake.requests).toHaveLength(5);
    expect(retry.events.map((event) => event.cause)).toEqual(["bad-body", "bad-body", "server-error", "rate-limit"]);
    expect(stack.usageMeter.totals().retries).toEqual({
      "rate-limit": 1,
      "server-error": 1,
      "bad-body": 2,
      timeout: 0,
      connection: 0,
    });
  });

  it("gives up on a body that stays malformed after maxAttempts, with the endpoint and the body's start", async () => {
    const fake = await server();
    fake.injectFaults(
      Array.from({ length: 3 }, () => ({ type: "malformed" as const, body: "Bad Gateway from the proxy" })),
    );
    const stack = createModelStack({
      replicas: provider(fake.url),
      retry: { ...instantRetry().options, maxAttempts: 3 },
    });
    const error = await stack.model.generate(ask("q")).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).message).toContain(`${fake.url}/v1/chat/completions answered HTTP 200`);
    expect((error as ProviderError).message).toContain("Bad Gateway from the proxy");
    expect(fake.requests).toHaveLength(3);
    expect(stack.usageMeter.totals().retries["bad-body"]).toBe(2);
  });

  it("never lets spend pass the cap at concurrency 16 with latency: calls reserve before they queue", async () => {
    const fake = await server({ latencyMs: 20 });
    // $1000 per million tokens: a call costs about $0.02 and reserves about $0.06 (50 max tokens).
    const price = { prompt: 1000, completion: 1000 };
    const entries: UsageEntry[] = [];
    const meter = createUsageMeter({ budgetUsd: 0.5, priceTable: { "fake-model": price } });
    meter.onUsage((entry) => entries.push(entry));
    // No price of its own: the meter's price table prices it.
    const unpriced = createOpenAICompatible({ baseURL: fake.url, apiKey, model: "fake-model" });
    const stack = createModelStack({ replicas: unpriced, usageMeter: meter, maxConcurrency: 16 });
    const request = (index: number) => ({ ...ask(`question ${index}`), sampling: { maxTokens: 50 } });
    const largestReservation = Math.max(
      ...Array.from({ length: 64 }, (_, index) => {
        const tokens = estimatePromptTokens(stack.model, request(index)) + 50;
        return (tokens * price.prompt) / 1_000_000;
      }),
    );
    // 32 callers, each calling until refused: half of them wait behind the limiter at any time.
    let next = 0;
    const refusals: unknown[] = [];
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        for (;;) {
          try {
            await stack.model.generate(request(next++ % 64));
          } catch (error) {
            refusals.push(error);
            return;
          }
        }
      }),
    );
    for (const refusal of refusals) expect(refusal).toBeInstanceOf(BudgetExceededError);
    const ledger = entries.reduce((sum, entry) => sum + entry.costUsd, 0);
    expect(ledger).toBeGreaterThan(0.2);
    expect(ledger).toBeLessThanOrEqual(0.5 + largestReservation);
    expect(fake.requests).toHaveLength(entries.length);
    expect(meter.budget()).toEqual({ budgetUsd: 0.5, spentUsd: meter.totals().costUsd, reservedUsd: 0 });
    expect(meter.budget().spentUsd).toBeCloseTo(ledger, 12);
  });

  it("keeps an in-process model's exact prompt count through every layer, for the budget's reservation", async () => {
    const fake = await server();
    const exact = { ...provider(fake.url), countPromptTokens: () => 42 };
    const stack = createModelStack({ replicas: [exact, exact], cacheStore: createMemoryResponseCacheStore() });
    expect(estimatePromptTokens(stack.model, ask("a question of many bytes"))).toBe(42);
    expect(estimatePromptTokens(createModelStack({ replicas: provider(fake.url) }).model, ask("abc"))).toBe(1 + 4 + 3);
  });

  it("sends more calls to a fast replica than to a slow one", async () => {
    const slow = await server({ latencyMs: 80 });
    const fast = await server({ latencyMs: 5 });
    const stack = createModelStack({ replicas: [provider(slow.url), provider(fast.url)] });
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < 40) {
        next += 1;
        await stack.model.generate({ ...ask(`question ${next}`), sampling: { temperature: 0 } });
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(slow.requests.length + fast.requests.length).toBe(40);
    // The first eight calls start together and split evenly; after that the fast replica drains first.
    expect(slow.requests.length).toBeGreaterThanOrEqual(4);
    expect(fast.requests.length).toBeGreaterThan(slow.requests.length);
    expect(fast.requests.length).toBeGreaterThanOrEqual(24);
    expect(stack.balancer.served()).toEqual([slow.requests.length, fast.requests.length]);
  });

  it("sends a retry back through the balancer, so it can land on another replica", async () => {
    const failing = await server({ respond: () => "from the failing replica" });
    const healthy = await server({ respond: () => "from the healthy replica" });
    failing.injectFaults([{ type: "server-error", status: 503 }]);
    const stack = createModelStack({
      replicas: [provider(failing.url), provider(healthy.url)],
      retry: instantRetry().options,
    });
    expect((await stack.model.generate(ask("q"))).text).toBe("from the healthy replica");
    expect([failing.requests.length, healthy.requests.length]).toEqual([1, 1]);
  });

  it("tells each usage entry its call identity and how many retries the call needed, cache hits included", async () => {
    const fake = await server({ respond: () => "answer" });
    fake.injectFaults([{ type: "server-error", status: 503 }, { type: "truncated" }]);
    const store = createMemoryResponseCacheStore();
    const usageMeter = createUsageMeter();
    const entries: UsageEntry[] = [];
    usageMeter.onUsage((entry) => entries.push(entry));
    const stack = createModelStack({
      replicas: provider(fake.url),
      cacheStore: store,
      usageMeter,
      retry: instantRetry().options,
    });
    const callIdentity = "run:r/round:2/agent:5/peer-rating/peer:7/attempt:1";
    await stack.model.generate({ ...ask("q"), callIdentity });
    await stack.model.generate({ ...ask("q"), callIdentity });
    await stack.model.generate(ask("other"));
    expect(entries.map(({ callIdentity, retries, cached }) => ({ callIdentity, retries, cached }))).toEqual([
      { callIdentity, retries: 2, cached: false },
      { callIdentity, retries: 0, cached: true },
      { callIdentity: undefined, retries: 0, cached: false },
    ]);
  });

  it("replays a cached run with zero HTTP calls and identical text", async () => {
    const fake = await server();
    const store = createMemoryResponseCacheStore();
    const requests = [1, 2, 3, 4].map((index) => ({
      ...ask(`question ${index}`),
      sampling: { temperature: 1 },
      callIdentity: `run:a/agent:${index}`,
    }));
    const first = createModelStack({ replicas: provider(fake.url), cacheStore: store });
    const original = await Promise.all(requests.map((request) => first.model.generate(request)));
    expect(fake.requests).toHaveLength(4);
    const rerun = createModelStack({ replicas: provider(fake.url), cacheStore: store });
    const replayed = await Promise.all(requests.map((request) => rerun.model.generate(request)));
    expect(fake.requests).toHaveLength(4);
    expect(replayed.map((result) => result.text)).toEqual(original.map((result) => result.text));
    expect(replayed.every((result) => result.cached === true)).toBe(true);
    expect(rerun.usageMeter.totals()).toMatchObject({ calls: 4, cachedCalls: 4, promptTokens: 0 });
  });

  it("caches two samples of one prompt at temperature 1 separately, with independent answers", async () => {
    const fake = await server();
    const store = createMemoryResponseCacheStore();
    const stack = createModelStack({ replicas: provider(fake.url), cacheStore: store });
    const sample = (identity: string) =>
      stack.model.generate({ ...ask("Is lying ever fine?"), sampling: { temperature: 1 }, callIdentity: identity });
    const [one, two] = await Promise.all([sample("sample:1"), sample("sample:2")]);
    expect(fake.requests).toHaveLength(2);
    expect(store.size).toBe(2);
    expect(one?.text).not.toBe(two?.text);
    expect((await sample("sample:2")).text).toBe(two?.text);
    expect(fake.requests).toHaveLength(2);
  });

  it("halves an endpoint's concurrency on a 429 and recovers after successes", async () => {
    const fake = await server();
    const stack = createModelStack({ replicas: provider(fake.url), maxConcurrency: 8, retry: instantRetry().options });
    fake.injectFaults([{ type: "rate-limit", retryAfter: "0" }]);
    await stack.model.generate(ask("first"));
    const limiter = stack.limiters[0];
    expect(limiter?.limit()).toBe(4);
    const limits: number[] = [];
    for (let index = 0; index < 30; index += 1) {
      await stack.model.generate(ask(`next ${index}`));
      limits.push(limiter?.limit() ?? 0);
    }
    expect(limits.slice(0, 3)).toEqual([4, 4, 5]);
    expect(limits.at(-1)).toBe(8);
  });

  it("keeps the API key out of errors that pass through the whole stack", async () => {
    const fake = await server();
    fake.injectFaults([{ type: "unauthorized" }]);
    const stack = createModelStack({ replicas: provider(fake.url), retry: instantRetry().options });
    const error = (await stack.model.generate(ask("q")).catch((caught: unknown) => caught)) as ProviderError;
    expect(error.status).toBe(401);
    expect(`${error.message} ${JSON.stringify(error)} ${String(error.stack)}`).not.toContain(apiKey);
  });
});
