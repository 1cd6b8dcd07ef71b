import { afterEach, describe, expect, it } from "vitest";
import { ProviderError } from "../spec/errors.js";
import { type FakeLlmServer, startFakeLlmServer } from "../test-kit/fake-llm-server.js";
import { createRetryMiddleware } from "./middleware/retry-middleware.js";
import { createOpenAICompatible } from "./openai-compatible.js";

let server: FakeLlmServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A vLLM echo answer for prompt "Hi there": BOS, two prompt tokens, one generated token. */
const echoAnswer = JSON.stringify({
  id: "cmpl-1",
  object: "text_completion",
  model: "served-model",
  choices: [
    {
      index: 0,
      text: "Hi there!",
      logprobs: {
        tokens: ["<s>", "Hi", " there", "!"],
        token_logprobs: [null, -2, -0.5, -1],
        top_logprobs: [null, { Hi: -2 }, { " there": -0.5 }, { "!": -1 }],
        text_offset: [0, 3, 5, 11],
      },
      finish_reason: "length",
    },
  ],
  usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
});

describe("createOpenAICompatible score", () => {
  it("scores custom servers by default, not api.openai.com, and the option overrides both ways", () => {
    const custom = createOpenAICompatible({ baseURL: "http://127.0.0.1:9", model: "m" });
    expect([custom.capabilities.score, typeof custom.score]).toEqual([true, "function"]);
    const openai = createOpenAICompatible({ baseURL: "https://api.openai.com/v1", model: "gpt-4o-mini" });
    expect([openai.capabilities.score, openai.score]).toEqual([false, undefined]);
    const off = createOpenAICompatible({ baseURL: "http://127.0.0.1:9", model: "m", score: false, api: "completion" });
    expect([off.capabilities.score, off.score]).toEqual([false, undefined]);
    const on = createOpenAICompatible({ baseURL: "https://api.openai.com/v1", model: "m", score: true });
    expect(on.capabilities.score).toBe(true);
  });

  it("posts the echo body to /completions; a non-echo answer is a retryable bad response, then the echo is read", async () => {
    server = await startFakeLlmServer();
    server.injectFaults([
      { type: "malformed", body: '{"choices":[{"index":0,"text":"!","finish_reason":"length"}]}' },
      { type: "malformed", body: echoAnswer },
    ]);
    const model = createOpenAICompatible({ baseURL: server.url, model: "m", api: "completion" });
    const score = model.score;
    if (score === undefined) throw new Error("no score");
    const error = await score({ context: "Hi", continuations: [" there"] }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).code).toBe("PROVIDER_BAD_RESPONSE");
    expect((error as ProviderError).retryable).toBe(true);
    expect((error as ProviderError).message).toMatch(/no echoed prompt log-probabilities/);
    expect(server.requests[0]?.path).toBe("/v1/completions");
    expect(server.requests[0]?.body).toEqual({
      model: "m",
      prompt: ["Hi there"],
      echo: true,
      logprobs: 0,
      max_tokens: 1,
      temperature: 0,
    });

    server.injectFaults([
      { type: "malformed", body: '{"choices":[{"index":0,"text":"!","finish_reason":"length"}]}' },
      { type: "malformed", body: echoAnswer },
    ]);
    const retried = createRetryMiddleware({ sleep: async () => {} })(model);
    const result = await retried.score?.({ context: "Hi", continuations: [" there"] });
    expect(result).toEqual({
      scores: [{ valid: true, logProbability: -0.5, tokenLogProbabilities: [-0.5], tokenCount: 1 }],
      usage: { promptTokens: 3, completionTokens: 1 },
      modelId: "served-model",
    });
  });
});
