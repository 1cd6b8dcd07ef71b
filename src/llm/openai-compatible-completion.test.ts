import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeLlmServer, startFakeLlmServer } from "../test-kit/fake-llm-server.js";
import { createOpenAICompatible } from "./openai-compatible.js";

let server: FakeLlmServer;
beforeAll(async () => {
  server = await startFakeLlmServer({ respond: () => " a continuation" });
});
afterAll(async () => {
  await server.close();
});

describe("createOpenAICompatible with api: completion (a base model)", () => {
  it("says it cannot chat or give structured output (but can score), and sends prompts to /v1/completions", async () => {
    const model = createOpenAICompatible({ baseURL: `${server.url}/v1`, model: "base", api: "completion" });
    expect(model.capabilities).toEqual({
      chat: false,
      completion: true,
      jsonSchema: false,
      grammar: false,
      score: true,
    });
    const result = await model.generate({ prompt: "Human: hi\n\nAssistant:", sampling: { stop: ["\nHuman:"] } });
    expect(result.text).toBe(" a continuation");
    const request = server.requests.at(-1);
    expect(request?.path).toBe("/v1/completions");
    expect(request?.body).toEqual({ model: "base", prompt: "Human: hi\n\nAssistant:", stop: ["\nHuman:"] });
  });

  it("refuses a chat request without calling the server", async () => {
    const model = createOpenAICompatible({ baseURL: `${server.url}/v1`, model: "base", api: "completion" });
    const before = server.requests.length;
    await expect(model.generate({ messages: [{ role: "user", content: "hi" }] })).rejects.toMatchObject({
      code: "PROVIDER_UNSUPPORTED",
      message: expect.stringMatching(/completion model; send a prompt, not messages/),
    });
    expect(server.requests.length).toBe(before);
  });
});
