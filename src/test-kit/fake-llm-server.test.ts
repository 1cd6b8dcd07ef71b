import { afterEach, describe, expect, it } from "vitest";
import { type FakeLlmServer, startFakeLlmServer } from "./fake-llm-server.js";
import { spawnFakeLlmServer } from "./fake-llm-server-process.js";

let server: FakeLlmServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function post(url: string, body: unknown): Promise<{ status: number; headers: Headers; text: string }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer sk-test-secret" },
    body: JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

describe("startFakeLlmServer", () => {
  it("answers chat and completion with usage, and records each request", async () => {
    server = await startFakeLlmServer({ respond: ({ path }) => `hello from ${path}` });
    const chat = await post(`${server.url}/v1/chat/completions`, {
      model: "m",
      messages: [{ role: "user", content: "abcdefgh" }],
    });
    const chatJson = JSON.parse(chat.text);
    expect(chatJson.choices[0].message.content).toBe("hello from /v1/chat/completions");
    expect(chatJson.usage).toEqual({ prompt_tokens: 2, completion_tokens: 8, total_tokens: 10 });
    const completion = JSON.parse((await post(`${server.url}/v1/completions`, { model: "m", prompt: "x" })).text);
    expect(completion.choices[0].text).toBe("hello from /v1/completions");
    expect(server.requests.map((request) => request.path)).toEqual(["/v1/chat/completions", "/v1/completions"]);
    expect(server.requests[0]?.body).toEqual({ model: "m", messages: [{ role: "user", content: "abcdefgh" }] });
    expect(server.requests[0]?.respondedAt).toBeGreaterThanOrEqual(server.requests[0]?.receivedAt ?? Infinity);
  });

  it("gives seeded text: equal greedy requests repeat, sampled ones differ", async () => {
    server = await startFakeLlmServer();
    const ask = async (body: Record<string, unknown>): Promise<string> =>
      JSON.parse((await post(`${server?.url}/v1/chat/completions`, body)).text).choices[0].message.content;
    const greedy = { model: "m", messages: [{ role: "user", content: "q" }], temperature: 0 };
    expect(await ask(greedy)).toBe(await ask(greedy));
    const sampled = { ...greedy, temperature: 1 };
    expect(await ask(sampled)).not.toBe(await ask(sampled));
    expect((await ask(greedy)).length).toBeGreaterThan(0);
  });

  it("answers a rating when asked for one, by format instruction or JSON schema", async () => {
    server = await startFakeLlmServer();
    const ask = async (body: Record<string, unknown>): Promise<string> =>
      JSON.parse((await post(`${server?.url}/v1/chat/completions`, body)).text).choices[0].message.content;
    const instructed = await ask({
      model: "m",
      messages: [
        { role: "user", content: "Rate it. Answer as Rating: <a whole number from 1 to 7> ### Reason: <why>" },
      ],
    });
    expect(instructed).toMatch(/^Rating: [1-7] ### Reason: \S/);
    const schema = {
      type: "object",
      properties: { rating: { type: "integer", minimum: 2, maximum: 3 }, reason: { type: "string" } },
    };
    const structured = JSON.parse(
      await ask({
        model: "m",
        messages: [{ role: "user", content: "rate" }],
        response_format: { type: "json_schema", json_schema: { name: "rating", schema } },
      }),
    ) as { rating: number; reason: string };
    expect([2, 3]).toContain(structured.rating);
    expect(structured.reason.length).toBeGreaterThan(0);
    expect(await ask({ model: "m", messages: [{ role: "user", content: "mean rating was Rating: 5" }] })).not.toMatch(
      /^Rating/,
    );
  });

  it("serves deterministic unit embeddings and lists models", async () => {
    server = await startFakeLlmServer({ embeddingDimensions: 4, models: ["a", "b"] });
    const first = JSON.parse((await post(`${server.url}/v1/embeddings`, { model: "e", input: ["x", "y"] })).text);
    const again = JSON.parse((await post(`${server.url}/v1/embeddings`, { model: "e", input: "x" })).text);
    expect(first.data).toHaveLength(2);
    expect(first.data[0].embedding).toHaveLength(4);
    expect(again.data[0].embedding).toEqual(first.data[0].embedding);
    expect(first.data[1].embedding).not.toEqual(first.data[0].embedding);
    expect(Math.hypot(...first.data[0].embedding)).toBeCloseTo(1, 6);
    const models = (await (await fetch(`${server.url}/v1/models`)).json()) as { data: { id: string }[] };
    expect(models.data.map((model: { id: string }) => model.id)).toEqual(["a", "b"]);
  });

  it("serves injected faults in order, then recovers", async () => {
    server = await startFakeLlmServer({ respond: () => "ok" });
    server.injectFaults([
      { type: "rate-limit", retryAfter: "3" },
      { type: "server-error" },
      { type: "malformed" },
      { type: "unauthorized" },
    ]);
    const body = { model: "m", prompt: "p" };
    const limited = await post(`${server.url}/v1/completions`, body);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("3");
    expect((await post(`${server.url}/v1/completions`, body)).status).toBe(500);
    const malformed = await post(`${server.url}/v1/completions`, body);
    expect(malformed.status).toBe(200);
    expect(() => JSON.parse(malformed.text)).toThrow();
    const unauthorized = await post(`${server.url}/v1/completions`, body);
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.text).toContain("sk-test-secret");
    expect(JSON.parse((await post(`${server.url}/v1/completions`, body)).text).choices[0].text).toBe("ok");
  });

  it("serves a truncated JSON answer, seeded random faults, and bills no more than max_tokens", async () => {
    server = await startFakeLlmServer({ respond: () => "a rather long answer that runs past the cap" });
    server.injectFaults([{ type: "truncated" }]);
    const body = { model: "m", prompt: "p", max_tokens: 3 };
    const truncated = await post(`${server.url}/v1/completions`, body);
    expect(truncated.status).toBe(200);
    expect(truncated.text.startsWith('{"id":')).toBe(true);
    expect(() => JSON.parse(truncated.text)).toThrow();
    expect(JSON.parse((await post(`${server.url}/v1/completions`, body)).text).usage.completion_tokens).toBe(3);
    await server.close();

    const outcomes = async (seed: number): Promise<number[]> => {
      const chaotic = await startFakeLlmServer({
        respond: () => "ok",
        randomFaults: { probability: 0.5, faults: [{ type: "server-error", status: 503 }], seed },
      });
      const statuses: number[] = [];
      for (let index = 0; index < 40; index += 1)
        statuses.push((await post(`${chaotic.url}/v1/completions`, body)).status);
      await chaotic.close();
      return statuses;
    };
    const first = await outcomes(7);
    expect(new Set(first)).toEqual(new Set([200, 503]));
    expect(first.filter((status) => status === 503).length).toBeGreaterThan(8);
    expect(first.filter((status) => status === 503).length).toBeLessThan(32);
    expect(await outcomes(7)).toEqual(first);
  });

  it("holds a hung request open until close, and applies latency", async () => {
    server = await startFakeLlmServer({ respond: () => "ok" });
    server.injectFaults([{ type: "hang" }]);
    const controller = new AbortController();
    const hung = fetch(`${server.url}/v1/completions`, {
      method: "POST",
      body: JSON.stringify({ prompt: "p" }),
      signal: controller.signal,
    });
    const outcome = await Promise.race([
      hung.then(() => "answered"),
      new Promise((resolve) => setTimeout(() => resolve("pending"), 150)),
    ]);
    expect(outcome).toBe("pending");
    controller.abort();
    await expect(hung).rejects.toThrow();
    server.setLatency(60);
    await post(`${server.url}/v1/completions`, { prompt: "p" });
    const last = server.requests.at(-1);
    expect((last?.respondedAt ?? 0) - (last?.receivedAt ?? 0)).toBeGreaterThanOrEqual(55);
    expect(server.requests[0]?.respondedAt).toBeUndefined();
  });
});

describe("spawnFakeLlmServer", () => {
  it("runs the server in a child process and stops it", async () => {
    const child = await spawnFakeLlmServer();
    try {
      const answer = await post(`${child.url}/v1/chat/completions`, {
        model: "m",
        messages: [{ role: "user", content: "hi" }],
      });
      expect(answer.status).toBe(200);
      expect(typeof JSON.parse(answer.text).choices[0].message.content).toBe("string");
    } finally {
      await child.close();
    }
    expect(child.child.exitCode ?? child.child.signalCode).not.toBeNull();
  });
});
