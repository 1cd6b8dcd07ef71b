import { describe, expect, it } from "vitest";
import { createBlas, createRandom } from "../../engine/index.js";
import {
  clearMarginSuccessor,
  clearMarginWeights,
  randomWeights,
  testTokenizer,
  tinyConfig,
} from "../__fixtures__/tiny-models.js";
import { generateText } from "./generate.js";
import { createInferenceDecoder } from "./inference-decoder.js";
import { sampleToken } from "./sampler.js";

const blas = createBlas({ backend: "typescript" });
const tokenizer = testTokenizer();
const config = tinyConfig();
const clearMargin = createInferenceDecoder({ config, weights: clearMarginWeights({ config }), blas });
const random = createInferenceDecoder({ config, weights: randomWeights({ config, seed: 5, scale: 0.3 }), blas });
const prompt = tokenizer.encode("The quick brown fox");

function successors(start: number, count: number): number[] {
  const chain: number[] = [];
  let current = start;
  for (let index = 0; index < count; index++) {
    current = clearMarginSuccessor(current, config.vocabularySize);
    chain.push(current);
  }
  return chain;
}

describe("generateText", () => {
  it("greedy decoding follows the clear-margin model's successor chain and stops at maxTokens", async () => {
    const result = await generateText({
      decoder: clearMargin,
      tokenizer,
      promptTokens: prompt,
      maxTokens: 20,
      temperature: 0,
    });
    expect(result.tokens).toEqual(successors(prompt.at(-1) as number, 20));
    expect(result.finishReason).toBe("length");
    expect(result.text).toBe(tokenizer.decode(result.tokens));
    expect(result.promptTokens).toBe(prompt.length);
  });

  it("stops before a stop string and on an end token, excluding both from the text", async () => {
    const full = await generateText({
      decoder: clearMargin,
      tokenizer,
      promptTokens: prompt,
      maxTokens: 12,
      temperature: 0,
    });
    const stop = full.text.slice(5, 8);
    const stopped = await generateText({
      decoder: clearMargin,
      tokenizer,
      promptTokens: prompt,
      maxTokens: 12,
      temperature: 0,
      stop: ["never appears", stop],
    });
    expect(stopped.finishReason).toBe("stop");
    expect(stopped.text).toBe(full.text.slice(0, full.text.indexOf(stop)));
    const third = successors(prompt.at(-1) as number, 3)[2] as number;
    const ended = await generateText({
      decoder: clearMargin,
      tokenizer,
      promptTokens: prompt,
      temperature: 0,
      endTokenIds: [third],
    });
    expect(ended).toMatchObject({ finishReason: "stop", tokens: successors(prompt.at(-1) as number, 2) });
  });

  it("samples reproducibly from a seed, differently from another seed", async () => {
    const options = { decoder: random, tokenizer, promptTokens: prompt, maxTokens: 16, temperature: 1 };
    const first = await generateText({ ...options, seed: 1 });
    const again = await generateText({ ...options, seed: 1 });
    const other = await generateText({ ...options, seed: 2 });
    expect(again.tokens).toEqual(first.tokens);
    expect(other.tokens).not.toEqual(first.tokens);
    const nucleus = await generateText({ ...options, seed: 3, topP: 1e-9 });
    const greedy = await generateText({ ...options, temperature: 0 });
    expect(nucleus.tokens).toEqual(greedy.tokens);
  });

  it("refuses a prompt that fills the context and stops cleanly when the context fills", async () => {
    const small = createInferenceDecoder({
      config: { ...config, maxPositions: 8 },
      weights: clearMarginWeights({ config }),
      blas,
    });
    await expect(generateText({ decoder: small, tokenizer, promptTokens: Array(8).fill(5) })).rejects.toThrow(
      /context is 8/,
    );
    const result = await generateText({
      decoder: small,
      tokenizer,
      promptTokens: [5, 6, 7],
      temperature: 0,
      maxTokens: 100,
    });
    expect(result).toMatchObject({ finishReason: "length" });
    expect(result.tokens).toHaveLength(6);
  });

  it("stops with CancelledError when its signal aborts", async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(
      generateText({ decoder: random, tokenizer, promptTokens: prompt, maxTokens: 10, signal: controller.signal }),
    ).rejects.toThrow(/cancelled/);
  });
});

describe("sampleToken", () => {
  it("draws tokens in proportion to softmax(logits / temperature)", () => {
    const generator = createRandom({ seed: 9 });
    const logits = Float32Array.from([0, Math.log(3), -100]);
    let second = 0;
    for (let draw = 0; draw < 4000; draw++) if (sampleToken({ logits, random: generator }) === 1) second++;
    expect(second / 4000).toBeGreaterThan(0.72);
    expect(second / 4000).toBeLessThan(0.78);
    // Temperature 2 flattens 3:1 to sqrt(3):1, about 0.634.
    let flattened = 0;
    for (let draw = 0; draw < 4000; draw++) {
      if (sampleToken({ logits, random: generator, temperature: 2 }) === 1) flattened++;
    }
    expect(flattened / 4000).toBeGreaterThan(0.6);
    expect(flattened / 4000).toBeLessThan(0.67);
    // top-p 0.7 keeps only the 0.75 token.
    for (let draw = 0; draw < 50; draw++) expect(sampleToken({ logits, random: generator, topP: 0.7 })).toBe(1);
    expect(() => sampleToken({ logits, random: generator, topP: 0 })).toThrow(/topP/);
  });
});
