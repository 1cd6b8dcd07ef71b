import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CancelledError, ModelSpecError, ProviderError } from "../spec/errors.js";
import {
  expectedGreedyChatReply,
  expectedGreedyContinuation,
  TINY_MODEL_GENERATION_PROMPT,
  writeTinyByteModel,
} from "../test-kit/tiny-gguf-model.js";
import { createLlamaCppModel, type LlamaCppModel } from "./llama-cpp-model.js";

// threads: 1 always: on a 2-core machine the default thread count is orders of magnitude slower.
const testOptions = { threads: 1, gpu: false as const, contextSize: 512 };

let directory: string;
let modelPath: string;
let model: LlamaCppModel;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "llama-cpp-model-"));
  modelPath = await writeTinyByteModel({ path: join(directory, "tiny.gguf") });
  model = await createLlamaCppModel({ modelPath, parallelSequences: 4, ...testOptions });
});

afterAll(async () => {
  await model?.close();
  await rm(directory, { recursive: true, force: true });
});

describe("createLlamaCppModel: completion", () => {
  it("returns exactly the tiny model's greedy continuation, with token usage", async () => {
    const result = await model.generate({ prompt: "hello", sampling: { temperature: 0, maxTokens: 10 } });
    expect(result.text).toBe(expectedGreedyContinuation("hello", 10));
    expect(result.text).toBe("pqrstuvwxy");
    expect(result.finishReason).toBe("length");
    expect(result.usage).toEqual({ promptTokens: 5, completionTokens: 10 });
    expect(result.modelId).toBe(`gguf:${modelPath}`);
  });

  it("ends with finishReason stop when the model emits end-of-sequence", async () => {
    const result = await model.generate({ prompt: "caf\u00e9", sampling: { temperature: 0, maxTokens: 10 } });
    expect(result).toMatchObject({ text: "", finishReason: "stop", usage: { completionTokens: 0 } });
  });

  it("stops before a stop string and leaves it out", async () => {
    const result = await model.generate({ prompt: "abc", sampling: { temperature: 0, maxTokens: 20, stop: ["gh"] } });
    expect(result.text).toBe("def");
    expect(result.finishReason).toBe("stop");
  });

  it("samples reproducibly with a seed at temperature > 0", async () => {
    const sample = (seed: number) =>
      model.generate({ prompt: "abc", sampling: { temperature: 2, topP: 1, seed, maxTokens: 20 } });
    const [first, again] = await Promise.all([sample(3), sample(3)]);
    expect(again.text).toBe(first.text);
    const greedy = expectedGreedyContinuation("abc", 20);
    const others = await Promise.all([sample(1), sample(2), sample(4)]);
    expect([first, ...others].some((result) => result.text !== greedy)).toBe(true);
  });
});

describe("createLlamaCppModel: chat", () => {
  it("renders the model's chat template and returns the known greedy reply", async () => {
    const messages = [
      { role: "system" as const, content: "be brief" },
      { role: "user" as const, content: "hi" },
    ];
    const result = await model.generate({ messages, sampling: { temperature: 0, maxTokens: 12 } });
    expect(result.text).toBe(expectedGreedyChatReply(12));
    expect(result.finishReason).toBe("length");
    // One token per byte of `<|system|>be brief`, `<|user|>hi` and the generation prompt, plus two EOS tokens.
    const textBytes = "<|system|>be brief<|user|>hi".length + TINY_MODEL_GENERATION_PROMPT.length;
    expect(result.usage).toEqual({ promptTokens: textBytes + 2, completionTokens: 12 });
    // The count a budget reserves by is exact: the one the call reports.
    expect(model.countPromptTokens?.({ messages })).toBe(result.usage.promptTokens);
    expect(model.countPromptTokens?.({ prompt: "hello" })).toBe(5);
  });

  it("continues a final assistant message and returns only the new text", async () => {
    const result = await model.generate({
      messages: [
        { role: "user", content: "count" },
        { role: "assistant", content: "abc" },
      ],
      sampling: { temperature: 0, maxTokens: 4 },
    });
    expect(result.text).toBe("defg");
  });

  it("falls back to a general chat format for a model without a chat template", async () => {
    const plainPath = await writeTinyByteModel({ path: join(directory, "plain.gguf"), chatTemplate: null });
    const plain = await createLlamaCppModel({ modelPath: plainPath, parallelSequences: 1, ...testOptions });
    try {
      const result = await plain.generate({
        messages: [{ role: "user", content: "hi" }],
        sampling: { temperature: 0, maxTokens: 6 },
      });
      // The general format ends the prompt with a newline; the tiny model continues with ` !"#$%`, and
      // node-llama-cpp drops the reply's leading space.
      expect(result.text).toBe(expectedGreedyContinuation("\n", 6).trimStart());
      expect(result.usage.promptTokens).toBeGreaterThan(2);
    } finally {
      await plain.close();
    }
  });
});

describe("createLlamaCppModel: concurrency", () => {
  it("runs more concurrent calls than sequences on one loaded model, each answer correct", async () => {
    const prompts = ["a", "B", "k", "0", "hello", "Q", "(", "xyz"];
    const calls = prompts.map((prompt, index) =>
      index % 2 === 0
        ? model.generate({ prompt, sampling: { temperature: 0, maxTokens: 8 } })
        : model.generate({ messages: [{ role: "user", content: prompt }], sampling: { temperature: 0, maxTokens: 8 } }),
    );
    await new Promise((resolve) => setImmediate(resolve));
    // At most parallelSequences calls run at once; the rest wait in line.
    expect(model.sequenceUsage()).toEqual({ busy: 4, waiting: 4 });
    const results = await Promise.all(calls);
    expect(results.map((result) => result.text)).toEqual(
      prompts.map((prompt, index) =>
        index % 2 === 0 ? expectedGreedyContinuation(prompt, 8) : expectedGreedyChatReply(8),
      ),
    );
    expect(model.sequenceUsage()).toEqual({ busy: 0, waiting: 0 });
  });
});

describe("createLlamaCppModel: structured output", () => {
  it("constrains output to a GBNF grammar", async () => {
    const result = await model.generate({
      prompt: "How good is this answer?",
      responseFormat: { type: "grammar", gbnf: 'root ::= "Rating: " [1-7]' },
      sampling: { temperature: 0, maxTokens: 20 },
    });
    expect(result.text).toMatch(/^Rating: [1-7]$/);
    expect(result.finishReason).toBe("stop");
  });

  it("constrains chat output to a JSON schema", async () => {
    const result = await model.generate({
      messages: [{ role: "user", content: "Rate it" }],
      responseFormat: {
        type: "json-schema",
        name: "rating",
        schema: { type: "object", properties: { rating: { type: "integer" } }, required: ["rating"] },
      },
      sampling: { temperature: 0, maxTokens: 60 },
    });
    const parsed = JSON.parse(result.text) as { rating: unknown };
    expect(Number.isInteger(parsed.rating)).toBe(true);
  });

  it("rejects an invalid grammar with a non-retryable ProviderError", async () => {
    const call = model.generate({ prompt: "x", responseFormat: { type: "grammar", gbnf: 'root ::= "a" [' } });
    await expect(call).rejects.toBeInstanceOf(ProviderError);
    await expect(call).rejects.toMatchObject({ code: "GRAMMAR_INVALID", retryable: false });
  });
});

describe("createLlamaCppModel: cancellation and lifecycle", () => {
  it("throws CancelledError for an already aborted signal and when aborted mid-generation", async () => {
    await expect(model.generate({ prompt: "a", signal: AbortSignal.abort() })).rejects.toBeInstanceOf(CancelledError);
    const controller = new AbortController();
    const call = model.generate({ prompt: "a", signal: controller.signal, sampling: { maxTokens: 2000 } });
    setTimeout(() => controller.abort(), 5);
    await expect(call).rejects.toBeInstanceOf(CancelledError);
    // The sequence went back to the pool: the model still answers.
    const after = await model.generate({ prompt: "a", sampling: { maxTokens: 3 } });
    expect(after.text).toBe("bcd");
  });

  it("refuses calls after close and closes twice safely", async () => {
    const other = await createLlamaCppModel({ modelPath, parallelSequences: 1, ...testOptions });
    await other.close();
    await other.close();
    await expect(other.generate({ prompt: "a" })).rejects.toMatchObject({ code: "MODEL_CLOSED" });
  });
});

describe("createLlamaCppModel: bad files", () => {
  it("names a missing file and the fix", async () => {
    const missing = join(directory, "nope.gguf");
    const call = createLlamaCppModel({ modelPath: missing, ...testOptions });
    await expect(call).rejects.toBeInstanceOf(ModelSpecError);
    await expect(call).rejects.toThrow(`model file ${missing} does not exist`);
  });

  it("names a file that is not GGUF before llama.cpp sees it", async () => {
    const notGguf = join(directory, "model.bin");
    await writeFile(notGguf, "PK\u0003\u0004 this is a zip, not a model");
    const call = createLlamaCppModel({ modelPath: notGguf, modelId: "gguf:model.bin", ...testOptions });
    await expect(call).rejects.toBeInstanceOf(ModelSpecError);
    await expect(call).rejects.toThrow(/model file .*model\.bin is not a GGUF file.*convert/);
    await expect(call).rejects.toMatchObject({ spec: "gguf:model.bin", code: "MODEL_SPEC_INVALID" });
  });

  it("reports a truncated GGUF file as ModelSpecError", async () => {
    const truncated = join(directory, "truncated.gguf");
    await writeFile(truncated, "GGUF\u0003\u0000\u0000\u0000");
    await expect(createLlamaCppModel({ modelPath: truncated, ...testOptions })).rejects.toBeInstanceOf(ModelSpecError);
  });
});
