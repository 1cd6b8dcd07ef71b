import { describe, expect, it } from "vitest";
import { CancelledError, InputError, ProviderError } from "../../spec/errors.js";
import type { GenerateRequest, GenerateResult, LanguageModel } from "../../spec/language-model.js";
import { createRetryMiddleware, type RetryEvent, retryCauseOf } from "./retry-middleware.js";

const ok: GenerateResult = {
  text: "ok",
  finishReason: "stop",
  usage: { promptTokens: 1, completionTokens: 1 },
  modelId: "m",
};

/** A model that throws the given errors in turn, then answers. */
function failingModel(errors: unknown[]): LanguageModel & { calls: number } {
  const model = {
    provider: "test",
    modelId: "m",
    capabilities: { chat: true, completion: true, jsonSchema: false, grammar: false },
    calls: 0,
    async generate(_request: GenerateRequest): Promise<GenerateResult> {
      model.calls += 1;
      const error = errors.shift();
      if (error !== undefined) throw error;
      return ok;
    },
  };
  return model;
}

const retryable = (details: { status?: number; retryAfterMs?: number } = {}): ProviderError =>
  new ProviderError("boom", { retryable: true, status: details.status ?? 500, ...details });

function recordingSleep(): { waits: number[]; sleep: (milliseconds: number) => Promise<void> } {
  const waits: number[] = [];
  return {
    waits,
    sleep: async (milliseconds: number) => {
      waits.push(milliseconds);
    },
  };
}

describe("createRetryMiddleware", () => {
  it("retries retryable errors with full-jitter exponential backoff", async () => {
    const model = failingModel([retryable(), retryable(), retryable()]);
    const { waits, sleep } = recordingSleep();
    const events: RetryEvent[] = [];
    const wrapped = createRetryMiddleware({
      sleep,
      random: () => 0.5,
      baseDelayMs: 100,
      onRetry: (event) => events.push(event),
    })(model);
    expect(await wrapped.generate({ prompt: "p" })).toEqual(ok);
    expect(model.calls).toBe(4);
    expect(waits).toEqual([50, 100, 200]);
    expect(events.map((event) => event.attempt)).toEqual([1, 2, 3]);
  });

  it("tells each retry's cause and model: 429, 5xx, bad body, timeout, connection", async () => {
    const errors = [
      new ProviderError("limited", { retryable: true, status: 429 }),
      new ProviderError("bad gateway", { retryable: true, status: 502 }),
      new ProviderError("garbled", { code: "PROVIDER_BAD_RESPONSE", retryable: true, status: 200 }),
      new ProviderError("slow", { code: "PROVIDER_TIMEOUT", retryable: true }),
      new ProviderError("request timeout", { retryable: true, status: 408 }),
      new ProviderError("reset", { code: "PROVIDER_CONNECTION", retryable: true }),
    ];
    const events: RetryEvent[] = [];
    const wrapped = createRetryMiddleware({
      maxAttempts: 10,
      sleep: recordingSleep().sleep,
      onRetry: (event) => events.push(event),
    })(failingModel([...errors]));
    expect(await wrapped.generate({ prompt: "p" })).toEqual(ok);
    expect(events.map((event) => event.cause)).toEqual([
      "rate-limit",
      "server-error",
      "bad-body",
      "timeout",
      "timeout",
      "connection",
    ]);
    expect(events.every((event) => event.modelId === "m")).toBe(true);
    expect(errors.map(retryCauseOf)).toEqual(events.map((event) => event.cause));
  });

  it("caps each backoff at maxDelayMs", async () => {
    const model = failingModel([retryable(), retryable(), retryable()]);
    const { waits, sleep } = recordingSleep();
    await createRetryMiddleware({ sleep, random: () => 0.999, baseDelayMs: 100, maxDelayMs: 150 })(model).generate({
      prompt: "p",
    });
    expect(waits.every((wait) => wait < 150)).toBe(true);
    expect(waits[2]).toBeGreaterThan(149);
  });

  it("waits at least the server's Retry-After", async () => {
    const model = failingModel([retryable({ status: 429, retryAfterMs: 2000 })]);
    const { waits, sleep } = recordingSleep();
    await createRetryMiddleware({ sleep, random: () => 0.1 })(model).generate({ prompt: "p" });
    expect(waits).toEqual([2000]);
  });

  it("stops after maxAttempts and rethrows the last error", async () => {
    const last = retryable({ status: 503 });
    const model = failingModel([retryable(), retryable(), last, retryable()]);
    const { sleep } = recordingSleep();
    await expect(createRetryMiddleware({ sleep, maxAttempts: 3 })(model).generate({ prompt: "p" })).rejects.toBe(last);
    expect(model.calls).toBe(3);
  });

  it("does not start a wait that would pass maxElapsedMs", async () => {
    const first = retryable({ status: 429, retryAfterMs: 10_000 });
    const model = failingModel([first]);
    const { waits, sleep } = recordingSleep();
    const now = (): number => 0;
    await expect(
      createRetryMiddleware({ sleep, now, maxElapsedMs: 5_000 })(model).generate({ prompt: "p" }),
    ).rejects.toBe(first);
    expect(waits).toEqual([]);
    expect(model.calls).toBe(1);
  });

  it("passes non-retryable errors and other exceptions straight through", async () => {
    const final = new ProviderError("bad request", { retryable: false, status: 400 });
    const bug = new InputError("bad input");
    const model = failingModel([final, bug]);
    const wrapped = createRetryMiddleware({ sleep: recordingSleep().sleep })(model);
    await expect(wrapped.generate({ prompt: "p" })).rejects.toBe(final);
    await expect(wrapped.generate({ prompt: "p" })).rejects.toBe(bug);
    expect(model.calls).toBe(2);
  });

  it("ends a wait with CancelledError when the signal aborts", async () => {
    const model = failingModel([retryable({ retryAfterMs: 60_000 })]);
    const controller = new AbortController();
    const call = createRetryMiddleware()(model).generate({ prompt: "p", signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await expect(call).rejects.toBeInstanceOf(CancelledError);
    expect(model.calls).toBe(1);
  });
});
