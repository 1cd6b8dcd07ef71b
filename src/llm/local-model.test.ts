import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBlas } from "../engine/index.js";
import {
  clearMarginSuccessor,
  clearMarginWeights,
  testTokenizer,
  tinyConfig,
} from "../model/__fixtures__/tiny-models.js";
import { saveCheckpoint } from "../model/checkpoint.js";
import { saveTokenizer } from "../model/tokenizer/tokenizer.js";
import { ModelSpecError, ProviderError } from "../spec/errors.js";
import { createLocalModel, type LocalModel } from "./local-model.js";

const tokenizer = testTokenizer();
const config = tinyConfig();
let directory: string;
let model: LocalModel;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "local-model-"));
  await saveCheckpoint({ directory, config, weights: clearMarginWeights({ config }) });
  await saveTokenizer({ directory, ...tokenizer });
  model = await createLocalModel({ directory, blas: createBlas({ backend: "typescript" }) });
});
afterAll(async () => {
  await model.close();
  await rm(directory, { recursive: true, force: true });
});

/** What greedy decoding of the clear-margin model produces after `promptTokens`. */
function expectedText(promptTokens: readonly number[], count: number): string {
  const tokens: number[] = [];
  let current = promptTokens.at(-1) as number;
  for (let index = 0; index < count; index++) {
    current = clearMarginSuccessor(current, config.vocabularySize);
    tokens.push(current);
  }
  return tokenizer.decode(tokens);
}

describe("createLocalModel", () => {
  it("completes a prompt greedily with the checkpoint's weights and reports usage", async () => {
    const prompt = "The quick brown fox";
    const result = await model.generate({ prompt, sampling: { maxTokens: 8 } });
    expect(result).toEqual({
      text: expectedText(tokenizer.encode(prompt), 8),
      finishReason: "length",
      usage: { promptTokens: tokenizer.encode(prompt).length, completionTokens: 8 },
      modelId: `local:${directory}`,
    });
    expect(model).toMatchObject({ provider: "local", capabilities: { chat: true, jsonSchema: false } });
    expect(model.backend).toContain("TypeScript decoder");
  });

  it("renders chat messages with the tokenizer's ChatML template", async () => {
    const messages = [{ role: "user" as const, content: "Hi there" }];
    const result = await model.generate({ messages, sampling: { maxTokens: 5 } });
    const prompt = "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n";
    expect(result.usage.promptTokens).toBe(tokenizer.encode(prompt).length);
    expect(result.text).toBe(expectedText(tokenizer.encode(prompt), 5));
    // The count a budget reserves by is exact: the one the call reports.
    expect(model.countPromptTokens?.({ messages })).toBe(result.usage.promptTokens);
  });

  it("honours stop strings, seeds and cancellation, and refuses structured output", async () => {
    const full = await model.generate({ prompt: "fox", sampling: { maxTokens: 10 } });
    const stop = full.text.slice(3, 6);
    const stopped = await model.generate({ prompt: "fox", sampling: { maxTokens: 10, stop: [stop] } });
    expect(stopped).toMatchObject({ finishReason: "stop", text: full.text.slice(0, full.text.indexOf(stop)) });
    const sampled = { prompt: "fox", sampling: { maxTokens: 6, temperature: 1.5, seed: 4 } };
    expect((await model.generate(sampled)).text).toBe((await model.generate(sampled)).text);
    // Without a seed, each call samples independently (8 calls all alike would be a fixed seed).
    const unseeded = await Promise.all(
      Array.from({ length: 8 }, () => model.generate({ prompt: "fox", sampling: { maxTokens: 6, temperature: 50 } })),
    );
    expect(new Set(unseeded.map((result) => result.text)).size).toBeGreaterThan(1);
    const controller = new AbortController();
    controller.abort();
    await expect(model.generate({ prompt: "fox", signal: controller.signal })).rejects.toThrow(/cancelled/);
    await expect(
      model.generate({ prompt: "x", responseFormat: { type: "grammar", gbnf: "root ::= 'a'" } }),
    ).rejects.toBeInstanceOf(ProviderError);
  });

  it("scores continuations by log-likelihood: its own next token nearly certain, another unlikely", async () => {
    const context = "The quick brown fox";
    const next = expectedText(tokenizer.encode(context), 1);
    const result = await model.score({ context, continuations: [next, "x"] });
    const [likely, unlikely] = result.scores;
    if (!likely?.valid || !unlikely?.valid) throw new Error("expected valid scores");
    expect(likely.tokenCount).toBe(1);
    expect(likely.logProbability).toBeGreaterThan(-0.01);
    expect(unlikely.logProbability).toBeLessThan(-5);
    expect(result.usage.promptTokens).toBeGreaterThan(0);
  });

  it("names the directory when it holds no checkpoint, and refuses calls after close", async () => {
    const failure = await createLocalModel({ directory: join(directory, "missing") }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ModelSpecError);
    expect((failure as Error).message).toMatch(/local:.*missing: cannot load the checkpoint/);
    const second = await createLocalModel({ directory, blas: createBlas({ backend: "typescript" }) });
    await second.close();
    await expect(second.generate({ prompt: "a" })).rejects.toThrow(/is closed/);
  });
});
