import { describe, expect, it } from "vitest";
import { priceOfSpec } from "./price-of-spec.js";

describe("priceOfSpec", () => {
  it("prices OpenAI models from the table, named servers from the config only, and the rest as free", () => {
    expect(priceOfSpec({ spec: "openai:gpt-4o-mini" })).toEqual({ prompt: 0.15, completion: 0.6 });
    expect(
      priceOfSpec({ spec: "openai:gpt-4o-mini", prices: { "gpt-4o-mini": { prompt: 1, completion: 2 } } }),
    ).toEqual({
      prompt: 1,
      completion: 2,
    });
    // A self-hosted server is free unless the config prices its model name (as the model factory does).
    expect(priceOfSpec({ spec: "openai:gpt-4o@http://127.0.0.1:8000/v1" })).toEqual({ prompt: 0, completion: 0 });
    expect(
      priceOfSpec({ spec: "openai:fake@http://127.0.0.1:8000/v1", prices: { fake: { prompt: 100, completion: 200 } } }),
    ).toEqual({ prompt: 100, completion: 200 });
    expect(priceOfSpec({ spec: "openai:text-embedding-3-small" }).prompt).toBe(0.02);
    expect(priceOfSpec({ spec: "lexical" })).toEqual({ prompt: 0, completion: 0 });
    expect(priceOfSpec({ spec: "gguf:./model.gguf" })).toEqual({ prompt: 0, completion: 0 });
  });
});
