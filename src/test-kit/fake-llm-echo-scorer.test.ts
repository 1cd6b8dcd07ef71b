import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { randomWeights, testTokenizer, tinyConfig } from "../model/__fixtures__/tiny-models.js";
import { saveCheckpoint } from "../model/checkpoint.js";
import { saveTokenizer } from "../model/tokenizer/tokenizer.js";
import { type FakeLlmServer, startFakeLlmServer } from "./fake-llm-server.js";

let server: FakeLlmServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

interface EchoChoice {
  index: number;
  text: string;
  finish_reason: string;
  logprobs: { tokens: string[]; token_logprobs: (number | null)[]; text_offset: number[]; top_logprobs: unknown[] };
}

const echoBody = (prompt: string | string[]) => ({
  model: "tiny",
  prompt,
  echo: true,
  logprobs: 0,
  max_tokens: 1,
  temperature: 0,
});

async function post(url: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${url}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

describe("the fake server's echo scoring", () => {
  it("answers in vLLM's shape: a choice per prompt, first logprob null, running text offsets, one generated token", async () => {
    const directory = mkdtempSync(join(tmpdir(), "sa-echo-"));
    const config = tinyConfig();
    const tokenizer = testTokenizer();
    await saveCheckpoint({ directory, config, weights: randomWeights({ config, seed: 3 }) });
    await saveTokenizer({ directory, ...tokenizer });
    server = await startFakeLlmServer({ scoreModel: directory });
    const prompts = ["The quick brown fox", "Numbers: 1234 and café 🙂"];
    const { status, json } = await post(server.url, echoBody(prompts));
    expect(status).toBe(200);
    const choices = json.choices as EchoChoice[];
    expect(choices.map((choice) => choice.index)).toEqual([0, 1]);
    let promptTokens = 0;
    for (const [index, choice] of choices.entries()) {
      const prompt = prompts[index] as string;
      const { tokens, token_logprobs: logprobs, text_offset: offsets } = choice.logprobs;
      const encoded = tokenizer.encode(prompt, { addSpecialTokens: true });
      promptTokens += encoded.length;
      // The prompt's tokens, then exactly one generated token.
      expect(tokens).toHaveLength(encoded.length + 1);
      expect(tokens.slice(0, -1).join("")).toBe(prompt);
      expect(choice.text).toBe(prompt + tokens.at(-1));
      expect(choice.finish_reason).toBe("length");
      expect(logprobs[0]).toBeNull();
      for (const value of logprobs.slice(1)) expect(value).toBeLessThanOrEqual(0);
      let running = 0;
      for (const [position, offset] of offsets.entries()) {
        expect(offset).toBe(running);
        running += (tokens[position] as string).length;
      }
    }
    expect(json.usage).toEqual({
      prompt_tokens: promptTokens,
      completion_tokens: 2,
      total_tokens: promptTokens + 2,
    });
    // A single prompt string gives one choice.
    expect(((await post(server.url, echoBody("The lazy dog"))).json.choices as unknown[]).length).toBe(1);
  });

  it("refuses echo with HTTP 400 when it has no score model", async () => {
    server = await startFakeLlmServer();
    const { status, json } = await post(server.url, echoBody("x"));
    expect(status).toBe(400);
    expect((json.error as { message: string }).message).toMatch(/start the fake server with a score model/);
  });
});
