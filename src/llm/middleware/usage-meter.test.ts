import { describe, expect, it } from "vitest";
import { BudgetExceededError, ProviderError } from "../../spec/errors.js";
import type { GenerateRequest, GenerateResult, LanguageModel } from "../../spec/language-model.js";
import type { UsageEntry } from "../../spec/response-cache.js";
import { lookupPrice } from "./price-table.js";
import { createUsageMeter, estimatePromptTokens } from "./usage-meter.js";

function tokenModel(
  modelId: string,
  usage: { promptTokens: number; completionTokens: number },
  price?: { prompt: number; completion: number },
): LanguageModel & { calls: number } {
  const model = {
    provider: "test",
    modelId,
    capabilities: { chat: true, completion: true, jsonSchema: false, grammar: false },
    ...(price === undefined ? {} : { pricePerMillionTokens: price }),
    calls: 0,
    async generate(): Promise<GenerateResult> {
      model.calls += 1;
      return { text: "x", finishReason: "stop", usage, modelId };
    },
  };
  return model;
}

describe("createUsageMeter", () => {
  it("prices calls from the built-in table and counts per model", async () => {
    const meter = createUsageMeter();
    const model = meter.middleware(tokenModel("gpt-4o-mini", { promptTokens: 1_000_000, completionTokens: 500_000 }));
    await model.generate({ prompt: "p" });
    await model.generate({ prompt: "p" });
    const totals = meter.totals();
    expect(totals.calls).toBe(2);
    expect(totals.promptTokens).toBe(2_000_000);
    expect(totals.costUsd).toBeCloseTo(2 * (0.15 + 0.3), 10);
    expect(totals.perModel["gpt-4o-mini"]?.calls).toBe(2);
  });

  it("lets a model's own price and the overriding table win", async () => {
    const meter = createUsageMeter({ priceTable: { "gpt-4o-mini": { prompt: 1, completion: 1 } } });
    const usage = { promptTokens: 1_000_000, completionTokens: 1_000_000 };
    await meter.middleware(tokenModel("openai:gpt-4o-mini", usage)).generate({ prompt: "p" });
    await meter
      .middleware(tokenModel("gguf:local.gguf", usage, { prompt: 0, completion: 0 }))
      .generate({ prompt: "p" });
    expect(meter.totals().perModel["openai:gpt-4o-mini"]?.costUsd).toBeCloseTo(2, 10);
    expect(meter.totals().perModel["gguf:local.gguf"]?.costUsd).toBe(0);
  });

  it("prices an unknown model at 0 and warns once", async () => {
    const warnings: string[] = [];
    const meter = createUsageMeter({ warn: (message) => warnings.push(message) });
    const model = meter.middleware(tokenModel("mystery-7b", { promptTokens: 10, completionTokens: 10 }));
    await model.generate({ prompt: "p" });
    await model.generate({ prompt: "p" });
    expect(meter.totals().costUsd).toBe(0);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("mystery-7b");
  });

  it("stops new calls once the budget is spent, before the backend sees them", async () => {
    const meter = createUsageMeter({ budgetUsd: 0.25, priceTable: { paid: { prompt: 1, completion: 0 } } });
    const backend = tokenModel("paid", { promptTokens: 100_000, completionTokens: 0 });
    const model = meter.middleware(backend);
    for (let call = 0; call < 3; call += 1) await model.generate({ prompt: "p" });
    const refused = await model.generate({ prompt: "p" }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(BudgetExceededError);
    expect((refused as BudgetExceededError).budgetUsd).toBe(0.25);
    expect((refused as BudgetExceededError).message).toContain("budget of $0.2500 reached");
    expect(backend.calls).toBe(3);
  });

  it("reserves each call's most cost before sending it; a call that does not fit yet waits for room", async () => {
    // $1 per token; "p" estimates 1 prompt token, so a call with maxTokens 2 reserves $3 and spends $1.
    const meter = createUsageMeter({
      budgetUsd: 7,
      priceTable: { paid: { prompt: 1_000_000, completion: 1_000_000 } },
    });
    const gates: (() => void)[] = [];
    const sent: GenerateRequest[] = [];
    const gated: LanguageModel = {
      ...tokenModel("paid", { promptTokens: 1, completionTokens: 0 }),
      generate: (request) => {
        sent.push(request);
        return new Promise((resolve, reject) => {
          gates.push(() =>
            request.prompt === "f"
              ? reject(new ProviderError("down", { retryable: false }))
              : resolve({
                  text: "",
                  finishReason: "stop",
                  usage: { promptTokens: 1, completionTokens: 0 },
                  modelId: "paid",
                }),
          );
        });
      },
    };
    const model = meter.middleware(gated);
    const ask = (prompt: string) => model.generate({ prompt, sampling: { maxTokens: 2 } });
    const first = ask("p");
    const second = ask("f");
    expect(meter.budget()).toEqual({ budgetUsd: 7, spentUsd: 0, reservedUsd: 6 });
    // 0 spent + 6 reserved + 3 would pass 7: the third call waits, unsent, for room.
    const third = ask("p");
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent).toHaveLength(2);
    let idle = false;
    const settled = meter.idle().then(() => {
      idle = true;
    });
    gates.shift()?.();
    await first;
    // $1 spent, $3 reserved: the third fits exactly and is sent.
    expect(sent).toHaveLength(3);
    gates.shift()?.();
    await expect(second).rejects.toBeInstanceOf(ProviderError);
    // A failed call releases its reservation and spends nothing.
    expect(meter.budget()).toEqual({ budgetUsd: 7, spentUsd: 1, reservedUsd: 3 });
    expect(idle).toBe(false);
    gates.shift()?.();
    await third;
    await settled;
    expect(meter.budget()).toEqual({ budgetUsd: 7, spentUsd: 2, reservedUsd: 0 });
  });

  it("counts a resumed run's earlier spend toward the cap", async () => {
    const meter = createUsageMeter({
      budgetUsd: 1,
      spentUsd: 0.75,
      priceTable: { paid: { prompt: 1, completion: 0 } },
    });
    const backend = tokenModel("paid", { promptTokens: 250_000, completionTokens: 0 });
    await meter.middleware(backend).generate({ prompt: "p", sampling: { maxTokens: 1 } });
    const refused = await meter
      .middleware(backend)
      .generate({ prompt: "p" })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(BudgetExceededError);
    expect((refused as BudgetExceededError).spentUsd).toBe(1);
    expect(meter.totals().costUsd).toBe(0.25);
  });

  it("sends every call with a max-tokens bound and estimates prompts conservatively", async () => {
    const sent: GenerateRequest[] = [];
    const backend: LanguageModel = {
      ...tokenModel("m", { promptTokens: 0, completionTokens: 0 }),
      generate: async (request) => {
        sent.push(request);
        return { text: "", finishReason: "stop", usage: { promptTokens: 0, completionTokens: 0 }, modelId: "m" };
      },
    };
    const model = createUsageMeter({ defaultMaxTokens: 77 }).middleware(backend);
    await model.generate({ prompt: "p", sampling: { temperature: 0 } });
    await model.generate({ prompt: "p", sampling: { maxTokens: 5 } });
    expect(sent.map((request) => request.sampling)).toEqual([{ temperature: 0, maxTokens: 77 }, { maxTokens: 5 }]);
    // "héllo" is 6 UTF-8 bytes: 2 tokens; a chat adds 4 per message and 3 for the reply.
    expect(estimatePromptTokens(backend, { prompt: "héllo" })).toBe(2);
    expect(estimatePromptTokens(backend, { messages: [{ role: "user", content: "héllo" }] })).toBe(9);
    const schema = { type: "object", properties: { rating: { type: "integer" } } };
    const withSchema = estimatePromptTokens(backend, {
      prompt: "héllo",
      responseFormat: { type: "json-schema", name: "r", schema },
    });
    expect(withSchema).toBe(Math.ceil((6 + JSON.stringify(schema).length) / 3));
    const local: LanguageModel = { ...backend, countPromptTokens: () => 42 };
    expect(estimatePromptTokens(local, { prompt: "héllo" })).toBe(42);
  });

  it("counts retries by cause and tells retry listeners", () => {
    const meter = createUsageMeter();
    const told: string[] = [];
    const unsubscribe = meter.onRetry((entry) => told.push(`${entry.modelId}:${entry.cause}:${entry.attempt}`));
    meter.recordRetry({ modelId: "a", cause: "bad-body", attempt: 1, delayMs: 5 });
    meter.recordRetry({ modelId: "a", cause: "bad-body", attempt: 2, delayMs: 9 });
    unsubscribe();
    meter.recordRetry({ modelId: "b", cause: "timeout", attempt: 1, delayMs: 5 });
    expect(told).toEqual(["a:bad-body:1", "a:bad-body:2"]);
    expect(meter.totals().retries).toEqual({
      "rate-limit": 0,
      "server-error": 0,
      "bad-body": 2,
      timeout: 1,
      connection: 0,
    });
  });

  it("reports every answered call to listeners and counts cache hits and failures", async () => {
    const meter = createUsageMeter({ priceTable: { paid: { prompt: 1, completion: 2 } } });
    const entries: UsageEntry[] = [];
    const unsubscribe = meter.onUsage((entry) => entries.push(entry));
    await meter
      .middleware(tokenModel("paid", { promptTokens: 1000, completionTokens: 1000 }))
      .generate({ prompt: "p" });
    meter.recordCacheHit({
      modelId: "paid",
      latencyMs: 0.1,
      result: {
        text: "x",
        finishReason: "stop",
        usage: { promptTokens: 1000, completionTokens: 1000 },
        modelId: "paid",
        cached: true,
      },
    });
    const failing: LanguageModel = {
      ...tokenModel("paid", { promptTokens: 0, completionTokens: 0 }),
      generate: () => Promise.reject(new ProviderError("down", { retryable: true })),
    };
    await meter
      .middleware(failing)
      .generate({ prompt: "p" })
      .catch(() => undefined);
    unsubscribe();
    await meter.middleware(tokenModel("paid", { promptTokens: 1, completionTokens: 1 })).generate({ prompt: "p" });
    expect(entries.map((entry) => [entry.cached, entry.costUsd])).toEqual([
      [false, 0.003],
      [true, 0],
    ]);
    const totals = meter.totals();
    expect([totals.calls, totals.cachedCalls, totals.failedCalls]).toEqual([3, 1, 1]);
    expect(totals.promptTokens).toBe(1001);
  });
});

describe("lookupPrice", () => {
  it("matches exact ids, spec strings and dated snapshots", () => {
    const table = { "gpt-4o": { prompt: 2.5, completion: 10 } };
    expect(lookupPrice(table, "gpt-4o")).toEqual(table["gpt-4o"]);
    expect(lookupPrice(table, "openai:gpt-4o@http://127.0.0.1:8000/v1")).toEqual(table["gpt-4o"]);
    expect(lookupPrice(table, "gpt-4o-2024-08-06")).toEqual(table["gpt-4o"]);
    expect(lookupPrice(table, "gpt-5")).toBeUndefined();
  });
});
