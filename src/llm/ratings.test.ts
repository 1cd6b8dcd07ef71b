import { describe, expect, it } from "vitest";
import { createScriptedModel } from "../test-kit/scripted-model.js";
import { parseRating, ratingGrammar, ratingJsonSchema, requestRating } from "./ratings.js";

describe("parseRating", () => {
  it("reads the canonical form and its common variations", () => {
    expect(parseRating("Rating: 5 ### Reason: Kind and correct.")).toEqual({
      valid: true,
      rating: 5,
      reason: "Kind and correct.",
    });
    expect(parseRating("**Rating:** 6/7\n**Reason:** helpful")).toMatchObject({ rating: 6, reason: "helpful" });
    expect(parseRating("rating = 2 out of 7 ### It insults people.")).toMatchObject({
      rating: 2,
      reason: "It insults people.",
    });
    expect(parseRating('{"rating": 7, "reason": "great"}')).toMatchObject({ rating: 7, reason: "great" });
    expect(parseRating("3 ### Reason: vague")).toMatchObject({ rating: 3, reason: "vague" });
  });

  it("rejects what is not a rating on the scale, never inventing a number", () => {
    expect(parseRating("I cannot rate this.")).toMatchObject({ valid: false });
    expect(parseRating("Rating: 9 ### Reason: x")).toMatchObject({
      valid: false,
      problem: expect.stringMatching(/outside/),
    });
    expect(parseRating("Rating: 0 ### Reason: x")).toMatchObject({ valid: false });
    expect(parseRating("Rating: 4.5 ### Reason: x")).toMatchObject({ valid: false });
    expect(parseRating("Rating: 4")).toMatchObject({ valid: false, problem: "no reason given" });
    expect(parseRating("Rating: 4", { requireReason: false })).toMatchObject({ valid: true, rating: 4, reason: "" });
  });
});

describe("requestRating", () => {
  const textOnly = { chat: true, completion: true, jsonSchema: false, grammar: false };

  it("re-asks a bounded number of times, then reports invalid with the raw reply", async () => {
    const model = createScriptedModel({ respond: "no idea", capabilities: textOnly });
    const result = await requestRating({
      model,
      messages: [{ role: "user", content: "rate" }],
      maxAttempts: 3,
      callIdentity: "run:r/x",
      sampling: { seed: 10, temperature: 1 },
    });
    expect(result).toMatchObject({ valid: false, raw: "no idea", attempts: 3 });
    expect("rating" in result).toBe(false);
    expect(model.requests.map((request) => request.callIdentity)).toEqual([
      "run:r/x/attempt:1",
      "run:r/x/attempt:2",
      "run:r/x/attempt:3",
    ]);
    expect(model.requests.map((request) => request.sampling?.seed)).toEqual([10, 11, 12]);
    // The second attempt shows the model its unreadable reply and asks for the format again.
    expect(model.requests[1]?.messages?.slice(1)).toEqual([
      { role: "assistant", content: "no idea" },
      { role: "user", content: expect.stringMatching(/Rating: <a whole number from 1 to 7>/) },
    ]);
  });

  it("stops at the first readable reply and sums usage", async () => {
    const model = createScriptedModel({
      respond: (_request, index) => (index === 0 ? "hmm" : "Rating: 4 ### Reason: fine"),
      capabilities: textOnly,
    });
    const result = await requestRating({ model, prompt: "rate this" });
    expect(result).toMatchObject({ valid: true, rating: 4, reason: "fine", attempts: 2 });
    expect(result.usage.completionTokens).toBeGreaterThan(0);
    expect(model.requests[1]?.prompt).toBe("rate this");
  });

  it("reads ratings from a model that ignores the JSON schema and restates the scale", async () => {
    // Issue 9 item 5: such replies were read as the scale's 1; each must give the stated rating.
    const ratings = [5, 6, 4, 7, 2, 5, 3, 6, 4, 5];
    const shapes = [
      (rating: number) => `Rating (1-7): ${rating} ### Reason: considered`,
      (rating: number) => `**Rating on a 1-7 scale:** ${rating}/7\n**Reason:** considered`,
    ];
    const model = createScriptedModel({
      respond: (_request, index) => (shapes[index % 2] as (rating: number) => string)(ratings[index] as number),
    });
    const read: number[] = [];
    for (const _ of ratings) {
      const result = await requestRating({ model, prompt: "rate", maxAttempts: 1 });
      expect(result.valid).toBe(true);
      if (result.valid) read.push(result.rating);
    }
    expect(read).toEqual(ratings);
    expect(model.requests[0]?.responseFormat?.type).toBe("json-schema");
  });

  it("asks again when the reply only restates the scale, and keeps the clear answer", async () => {
    const model = createScriptedModel({
      respond: (_request, index) => (index === 0 ? "Rating: 1 - 7 scale, I'd say 5." : "Rating: 5 ### Reason: polite"),
      capabilities: textOnly,
    });
    const result = await requestRating({ model, messages: [{ role: "user", content: "rate" }] });
    expect(result).toMatchObject({ valid: true, rating: 5, reason: "polite", attempts: 2 });
  });

  it("constrains by grammar when the model supports it, else by JSON schema", async () => {
    const grammarModel = createScriptedModel({
      respond: "Rating: 6 ### Reason: ok",
      capabilities: { chat: true, completion: true, jsonSchema: true, grammar: true },
    });
    await requestRating({ model: grammarModel, prompt: "p" });
    expect(grammarModel.requests[0]?.responseFormat).toEqual({ type: "grammar", gbnf: ratingGrammar() });
    expect(ratingGrammar()).toContain('"1" | "2" | "3" | "4" | "5" | "6" | "7"');
    const jsonModel = createScriptedModel({ respond: '{"rating":2,"reason":"rude"}' });
    const result = await requestRating({ model: jsonModel, prompt: "p" });
    expect(result).toMatchObject({ valid: true, rating: 2, reason: "rude" });
    expect(jsonModel.requests[0]?.responseFormat).toEqual({
      type: "json-schema",
      name: "rating",
      schema: ratingJsonSchema(),
    });
  });
});
