import { describe, expect, it } from "vitest";
import { llamaParameterLayout } from "../../src/model/llama/index.js";
import { benchSequence, modelShape } from "./model-shapes.js";

describe("bench model shapes", () => {
  it("has Qwen2.5-0.5B's 494,032,768 parameters and SmolLM2-135M's 134,515,008", () => {
    expect(llamaParameterLayout(modelShape("qwen2.5-0.5b")).totalSize).toBe(494_032_768);
    expect(llamaParameterLayout(modelShape("smollm2-135m")).totalSize).toBe(134_515_008);
  });

  it("refuses an unknown --shape in one line naming the known ones", () => {
    expect(() => modelShape("llama-70b")).toThrow(
      /^--shape must be one of smollm2-135m, qwen2\.5-0\.5b, got llama-70b$/,
    );
  });

  it("gives next-token targets with the last position masked", () => {
    const { tokens, targets } = benchSequence({ length: 4, vocabularySize: 100 });
    expect(Array.from(targets)).toEqual([...Array.from(tokens).slice(1), -1]);
  });
});
