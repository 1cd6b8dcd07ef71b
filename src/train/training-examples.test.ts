import { describe, expect, it } from "vitest";
import { testTokenizer } from "../model/__fixtures__/tiny-models.js";
import type { AlignmentExample } from "../spec/alignment-data.js";
import { prepareTrainingData, promptWindow } from "./training-examples.js";

const tokenizer = testTokenizer();

const row = (query: string, responses: string[], scores: number[]): AlignmentExample => ({
  query,
  responses,
  scores,
  models: responses.map(() => "m"),
  kind: "imitation",
});

describe("prepareTrainingData", () => {
  it("never puts one question on both sides of the split", () => {
    // 200 questions, each behind three rows of different kinds and prompts (as data build writes them).
    const rows = Array.from({ length: 600 }, (_, index) => ({
      example: { ...row(`prompt ${index}`, [" a", " b"], [7, 1]), source: `question ${index % 200}` },
      line: index + 1,
    }));
    const prepared = prepareTrainingData({
      rows,
      file: "x.json",
      tokenizer,
      format: "verbatim",
      maxLength: 64,
      ratingScale: 7,
      evalSplit: 0.1,
      seed: 3,
    });
    const trainSources = new Set(prepared.train.map((prompt) => prompt.sourceId));
    const heldOutSources = new Set(prepared.heldOut.map((prompt) => prompt.sourceId));
    expect([...heldOutSources].filter((source) => trainSources.has(source))).toEqual([]);
    expect(heldOutSources.size).toBeGreaterThan(8);
    expect(heldOutSources.size).toBeLessThan(35);
    expect(prepared.heldOut.length).toBe(heldOutSources.size * 3);
  });

  it("refuses a rating outside the scale naming the file and line, and counts skipped responses", () => {
    const rows = [row("q", [" a"], [9])].map((example) => ({ example, line: 4 }));
    expect(() =>
      prepareTrainingData({
        rows,
        file: "data.json",
        tokenizer,
        format: "verbatim",
        maxLength: 64,
        ratingScale: 7,
        evalSplit: 0,
        seed: 0,
      }),
    ).toThrow("data.json:4: scores[0] is 9, outside the rating scale 1-7 (--rating-scale)");
    const long = " word".repeat(80);
    const prepared = prepareTrainingData({
      rows: [row("q", ["  ", long, " fine"], [3, 4, 5]), row("r", [""], [2])].map((example, index) => ({
        example,
        line: index + 1,
      })),
      file: "data.json",
      tokenizer,
      format: "hh",
      maxLength: 40,
      ratingScale: 7,
      evalSplit: 0,
      seed: 0,
    });
    expect(prepared.train).toHaveLength(1);
    expect(prepared.train[0]?.responses).toHaveLength(1);
    expect(prepared.skipped).toEqual({
      "empty response": 2,
      "response leaves no room for the prompt at --max-length": 1,
      "row with no trainable response": 1,
    });
    expect(tokenizer.decode(prepared.train[0]?.promptTokens ?? [])).toBe("\n\nHuman: q\n\nAssistant:");
  });

  it("cuts the prompt from the left to fit beside the response", () => {
    expect(promptWindow({ promptTokens: [1, 2, 3, 4, 5], responseLength: 3, maxLength: 6 })).toEqual([3, 4, 5]);
    expect(promptWindow({ promptTokens: [1, 2], responseLength: 3, maxLength: 6 })).toEqual([1, 2]);
  });
});
