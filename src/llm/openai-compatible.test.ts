import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { CancelledError, ProviderError } from "../spec/errors.js";
import { type FakeLlmServer, startFakeLlmServer } from "../test-kit/fake-llm-server.js";
import { createOpenAICompatible, openAIEndpoint, parseRetryAfter } from "./openai-compatible.js";

const apiKey = "sk-test-0123456789abcdef";
let server: FakeLlmServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function caught(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ProviderError) return error;
    throw error;
  }
  throw new Error("expected a ProviderError, the call succeeded");
}

describe("createOpenAICompatible", () => {
  it("sends chat with sampling and JSON schema, and reads text, finish reason and usage", async () => {
    server = await startFakeLlmServer({ respond: () => '{"answer":1}' });
    const model = createOpenAICompatible({ baseURL: server.url, apiKey, model: "gpt-test" });
    const result = await model.generate({
      messages: [
        { role: "system", content: "be brief" },
        { role: "user", content: "one?" },
      ],
      sampling: { temperature: 0.7, topP: 0.9, maxTokens: 12, stop: ["\n"], seed: 7 },
      responseFormat: { type: "json-schema", name: "answer", schema: { type: "object" } },
    });
    expect(result).toEqual({
      text: '{"answer":1}',
      finishReason: "stop",
      usage: { promptTokens: 4, completionTokens: 3 },
      modelId: "gpt-test",
    });
    expect(server.requests[0]?.path).toBe("/v1/chat/completions");
    expect(server.requests[0]?.body).toEqual({
      model: "gpt-test",
      messages: [
        { role: "system", content: "be brief" },
        { role: "user", content: "one?" },
      ],
      temperature: 0.7,
      top_p: 0.9,
      max_tokens: 12,
      stop: ["\n"],
      seed: 7,
      response_format: {
        type: "json_schema",
        json_schema: { name: "answer", schema: { type: "object" }, strict: true },
      },
    });
    expect(model.capabilities).toEqual({ chat: true, completion: true, jsonSchema: true, grammar: false, score: true });
  });

  it("sends plain completions to /v1/completions", async () => {
    server = await startFakeLlmServer({ respond: ({ body }) => `${String(body.prompt)} world` });
    const model = createOpenAICompatible({ baseURL: `${server.url}/v1/`, model: "m", modelId: "openai:m" });
    const result = await model.generate({ prompt: "hello", sampling: { maxTokens: 5 } });
    expect(result.text).toBe("hello world");
    expect(model.modelId).toBe("openai:m");
    expect(server.requests[0]?.path).toBe("/v1/completions");
    expect(server.requests[0]?.body).toEqual({ model: "m", prompt: "hello", max_tokens: 5 });
  });

  it("maps a 429 to a retryable error with Retry-After and the request id", async () => {
    server = await startFakeLlmServer();
    server.injectFaults([{ type: "rate-limit", retryAfter: "2" }]);
    const model = createOpenAICompatible({ baseURL: server.url, apiKey, model: "m" });
    const error = await caught(model.generate({ prompt: "p" }));
    expect(error.code).toBe("PROVIDER_HTTP");
    expect(error.status).toBe(429);
    expect(error.retryable).toBe(true);
    expect(error.retryAfterMs).toBe(2000);
    expect(error.requestId).toBe("req_1");
    expect(error.endpoint).toBe(`${server.url}/v1/completions`);
    expect(error.message).toContain("Rate limit reached");
  });

  it("maps a 500 to a retryable error and a 401 to a final one", async () => {
    server = await startFakeLlmServer();
    server.injectFaults([{ type: "server-error" }, { type: "unauthorized" }]);
    const model = createOpenAICompatible({ baseURL: server.url, apiKey, model: "m" });
    const serverError = await caught(model.generate({ prompt: "p" }));
    expect([serverError.status, serverError.retryable]).toEqual([500, true]);
    const unauthorized = await caught(model.generate({ prompt: "p" }));
    expect([unauthorized.status, unauthorized.retryable]).toEqual([401, false]);
  });

  it("turns malformed bodies into errors naming endpoint, status and the body's start", async () => {
    server = await startFakeLlmServer();
    server.injectFaults([{ type: "malformed" }, { type: "malformed", body: '{"id":"x","object":"chat.completion"}' }]);
    const model = createOpenAICompatible({ baseURL: server.url, model: "m" });
    const notJson = await caught(model.generate({ messages: [{ role: "user", content: "q" }] }));
    expect(notJson.code).toBe("PROVIDER_BAD_RESPONSE");
    expect(notJson.message).toContain(`${server.url}/v1/chat/completions answered HTTP 200 but the body is not JSON`);
    expect(notJson.message).toContain("<html><body>upstream connect error");
    expect(notJson.status).toBe(200);
    // The request is idempotent and the body was garbled on the way: retry it like a 5xx.
    expect(notJson.retryable).toBe(true);
    const noChoices = await caught(model.generate({ messages: [{ role: "user", content: "q" }] }));
    expect(noChoices.message).toContain("no choices[0] text");
    expect(noChoices.message).toContain('{\\"id\\":\\"x\\"');
  });

  it("aborts a hung request after timeoutMs with a retryable PROVIDER_TIMEOUT", async () => {
    server = await startFakeLlmServer();
    server.injectFaults([{ type: "hang" }]);
    const model = createOpenAICompatible({ baseURL: server.url, model: "m", timeoutMs: 150 });
    const error = await caught(model.generate({ prompt: "p" }));
    expect(error.code).toBe("PROVIDER_TIMEOUT");
    expect(error.retryable).toBe(true);
    expect(error.message).toContain("no answer within 150 ms");
  });

  it("honours the caller's signal with a CancelledError", async () => {
    server = await startFakeLlmServer();
    server.injectFaults([{ type: "hang" }]);
    const model = createOpenAICompatible({ baseURL: server.url, model: "m" });
    const controller = new AbortController();
    const call = model.generate({ prompt: "p", signal: controller.signal });
    setTimeout(() => controller.abort(), 30);
    await expect(call).rejects.toBeInstanceOf(CancelledError);
    await expect(model.generate({ prompt: "p", signal: AbortSignal.abort() })).rejects.toBeInstanceOf(CancelledError);
  });

  it("reports a refused connection as a retryable PROVIDER_CONNECTION error", async () => {
    server = await startFakeLlmServer();
    const url = server.url;
    await server.close();
    server = undefined;
    const error = await caught(createOpenAICompatible({ baseURL: url, apiKey, model: "m" }).generate({ prompt: "p" }));
    expect(error.code).toBe("PROVIDER_CONNECTION");
    expect(error.retryable).toBe(true);
    expect(error.message).toContain(url);
  });

  it("reports a redirect as a final PROVIDER_HTTP error instead of following it", async () => {
    const redirecting = createServer((_request, response) => {
      response.writeHead(307, { location: "http://127.0.0.1:1/v1/chat/completions" });
      response.end();
    });
    await new Promise<void>((resolve) => redirecting.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = redirecting.address() as AddressInfo;
      const model = createOpenAICompatible({ baseURL: `http://127.0.0.1:${port}`, apiKey, model: "m" });
      const error = await caught(model.generate({ prompt: "p" }));
      expect(error.code).toBe("PROVIDER_HTTP");
      expect(error.retryable).toBe(false);
      expect(error.message).toMatch(/answered with a redirect, which is not followed/);
    } finally {
      await new Promise((resolve) => redirecting.close(resolve));
    }
  });

  it("never puts the API key in an error message, even when the server echoes it", async () => {
    server = await startFakeLlmServer();
    server.injectFaults([{ type: "unauthorized" }, { type: "malformed", body: `token ${apiKey}` }, { type: "hang" }]);
    const model = createOpenAICompatible({ baseURL: server.url, apiKey, model: "m", timeoutMs: 100 });
    const errors = [
      await caught(model.generate({ prompt: "p" })),
      await caught(model.generate({ prompt: "p" })),
      await caught(model.generate({ prompt: "p" })),
    ];
    expect(errors.map((error) => error.code)).toEqual(["PROVIDER_HTTP", "PROVIDER_BAD_RESPONSE", "PROVIDER_TIMEOUT"]);
    expect(errors[0]?.message).toContain("Incorrect API key provided: [redacted]");
    for (const error of errors) {
      expect(`${error.message} ${JSON.stringify(error)} ${String(error.stack)}`).not.toContain(apiKey);
    }
  });

  it("refuses GBNF grammars, which OpenAI-compatible servers do not take", async () => {
    const model = createOpenAICompatible({ baseURL: "http://127.0.0.1:9", model: "m" });
    const error = await caught(
      model.generate({ prompt: "p", responseFormat: { type: "grammar", gbnf: "root ::= x" } }),
    );
    expect(error.code).toBe("PROVIDER_UNSUPPORTED");
    expect(error.retryable).toBe(false);
  });

  it("carries its own price when given one", () => {
    const model = createOpenAICompatible({
      baseURL: "http://127.0.0.1:9",
      model: "m",
      pricePerMillionTokens: { prompt: 0, completion: 0 },
    });
    expect(model.pricePerMillionTokens).toEqual({ prompt: 0, completion: 0 });
  });
});

describe("openAIEndpoint", () => {
  it("appends /v1 to a bare origin and keeps a given path", () => {
    expect(openAIEndpoint("http://host:8000", "/chat/completions")).toBe("http://host:8000/v1/chat/completions");
    expect(openAIEndpoint("https://api.openai.com/v1/", "/completions")).toBe("https://api.openai.com/v1/completions");
    expect(openAIEndpoint("https://x.test/openai/v1beta", "/embeddings")).toBe(
      "https://x.test/openai/v1beta/embeddings",
    );
  });
});

describe("parseRetryAfter", () => {
  it("reads seconds, an HTTP date and retry-after-ms", () => {
    const now = Date.parse("2025-01-01T00:00:00Z");
    expect(parseRetryAfter(new Headers({ "retry-after": "1.5" }), now)).toBe(1500);
    expect(parseRetryAfter(new Headers({ "retry-after": "Wed, 01 Jan 2025 00:00:07 GMT" }), now)).toBe(7000);
    expect(parseRetryAfter(new Headers({ "retry-after": "Tue, 31 Dec 2024 00:00:00 GMT" }), now)).toBe(0);
    expect(parseRetryAfter(new Headers({ "retry-after-ms": "250", "retry-after": "9" }), now)).toBe(250);
    expect(parseRetryAfter(new Headers({ "retry-after": "soon" }), now)).toBeUndefined();
    expect(parseRetryAfter(new Headers(), now)).toBeUndefined();
  });
});
