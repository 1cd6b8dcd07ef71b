import { describe, expect, it } from "vitest";
import { interactionUsage, ratingStep, stepUsage } from "./step-accounting.js";

describe("step accounting", () => {
  it("prices a step per million tokens and sums an interaction, missing steps counting nothing", () => {
    const first = stepUsage({ promptTokens: 1_000, completionTokens: 500 }, 1, { prompt: 2, completion: 10 });
    expect(first).toEqual({ calls: 1, prompt_tokens: 1_000, completion_tokens: 500, cost_usd: 0.007 });
    const second = stepUsage({ promptTokens: 10, completionTokens: 0 }, 3, { prompt: 0, completion: 0 });
    expect(interactionUsage([{ usage: first }, undefined, { usage: second }])).toEqual({
      calls: 4,
      prompt_tokens: 1_010,
      completion_tokens: 500,
      cost_usd: 0.007,
    });
  });

  it("an invalid rating keeps the raw reply and no number", () => {
    const usage = stepUsage({ promptTokens: 1, completionTokens: 1 }, 2, { prompt: 0, completion: 0 });
    const model = { modelId: "m" } as Parameters<typeof ratingStep>[1];
    expect(
      ratingStep(
        { valid: false, raw: "cannot say", attempts: 2, usage: { promptTokens: 1, completionTokens: 1 } },
        model,
        usage,
      ),
    ).toEqual({ valid: false, rating: null, reason: null, raw: "cannot say", attempts: 2, model: "m", usage });
  });
});
