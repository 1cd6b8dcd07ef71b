import { describe, expect, it } from "vitest";
import { BudgetExceededError, ProviderError } from "../../spec/errors.js";
import type { GenerateResult, LanguageModel } from "../../spec/language-model.js";
import type { UsageEntry } from "../../spec/response-cache.js";
import { lookupPrice } from "./price-table.js";
import { createUsageMeter } from "./usage-meter.js";

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
