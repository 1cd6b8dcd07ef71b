import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../store/open-store.js";
import { type FakeLlmServer, startFakeLlmServer } from "../test-kit/fake-llm-server.js";
import type { CliContext } from "./cli-context.js";
import { createModelFactory } from "./model-factory.js";

let server: FakeLlmServer;
beforeAll(async () => {
  server = await startFakeLlmServer();
});
afterAll(async () => {
  await server.close();
});

function contextFor(directory: string, environment: NodeJS.ProcessEnv = {}): CliContext {
  return {
    config: {},
    configFile: undefined,
    cacheDirectory: join(directory, "cache"),
    environment,
    stdout: new PassThrough(),
    stderr: new PassThrough(),
  };
}

describe("createModelFactory", () => {
  it("replays a rerun from the SQLite cache with zero HTTP calls and identical text", async () => {
    const directory = mkdtempSync(join(tmpdir(), "sa-factory-"));
    const spec = `openai:fake-model@${server.url}/v1`;
    const ask = async () => {
      const store = openStore({ path: join(directory, "run.sqlite") });
      const factory = createModelFactory({ context: contextFor(directory), store });
      const model = await factory.languageModel(spec);
      const texts: string[] = [];
      for (const identity of ["run/agent-1/draft", "run/agent-2/draft"]) {
        const result = await model.generate({
          messages: [{ role: "user", content: "same question" }],
          sampling: { temperature: 1 },
          callIdentity: identity,
        });
        texts.push(result.text);
      }
      const totals = factory.usageMeter.totals();
      await factory.close();
      store.close();
      return { texts, totals };
    };
    const before = server.requests.length;
    const first = await ask();
    expect(server.requests.length - before).toBe(2);
    // Two agents asking the same question at temperature 1 get independent samples.
    expect(first.texts[0]).not.toBe(first.texts[1]);

    const second = await ask();
    expect(server.requests.length - before).toBe(2);
    expect(second.texts).toEqual(first.texts);
    expect(second.totals.cachedCalls).toBe(2);

    const store = openStore({ path: join(directory, "run.sqlite") });
    const usage = store.usageTotals();
    store.close();
    expect(usage).toEqual([expect.objectContaining({ modelId: spec, calls: 4, cachedCalls: 2 })]);
  });

  it("never sends the OpenAI key to another host", async () => {
    const directory = mkdtempSync(join(tmpdir(), "sa-factory-"));
    const headers: Record<string, string | string[] | undefined>[] = [];
    const { createServer } = await import("node:http");
    const echo = createServer((request, response) => {
      headers.push(request.headers);
      response.setHeader("content-type", "application/json");
      response.end(
        JSON.stringify({
          choices: [{ text: "ok", finish_reason: "stop" }],
          usage: { prompt_tokens: 1, completion_tokens: 1 },
        }),
      );
    });
    await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
    const port = (echo.address() as { port: number }).port;
    const second = createModelFactory({ context: contextFor(directory, { OPENAI_API_KEY: "sk-secret-value" }) });
    const echoModel = await second.languageModel(`openai:m@http://127.0.0.1:${port}/v1`);
    await echoModel.generate({ prompt: "x" });
    await second.close();
    echo.close();
    expect(headers).toHaveLength(1);
    expect(JSON.stringify(headers)).not.toContain("sk-secret-value");
  });

  it("shares one instance per spec and refuses test models unless allowed", async () => {
    const directory = mkdtempSync(join(tmpdir(), "sa-factory-"));
    const factory = createModelFactory({ context: contextFor(directory), allowTestModels: true });
    const spec = `openai:fake-model@${server.url}/v1`;
    expect(await factory.languageModel(spec)).toBe(await factory.languageModel(spec));
    expect((await (await factory.languageModel("scripted:hello")).generate({ prompt: "x" })).text).toBe("hello");
    await factory.close();
    const strict = createModelFactory({ context: contextFor(directory) });
    await expect(strict.languageModel("scripted:hello")).rejects.toThrow(/--allow-test-models/);
  });
});
