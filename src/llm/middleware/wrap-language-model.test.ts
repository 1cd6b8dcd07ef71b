import { describe, expect, it } from "vitest";
import type {
  GenerateRequest,
  GenerateResult,
  LanguageModel,
  LanguageModelMiddleware,
} from "../../spec/language-model.js";
import { withCalls, wrapLanguageModel } from "./wrap-language-model.js";

describe("wrapLanguageModel", () => {
  it("applies middleware so the first entry is the outermost layer", async () => {
    const trace: string[] = [];
    let closed = 0;
    const model: LanguageModel = {
      provider: "test",
      modelId: "m",
      capabilities: { chat: true, completion: true, jsonSchema: false, grammar: false },
      pricePerMillionTokens: { prompt: 1, completion: 2 },
      async generate(_request: GenerateRequest): Promise<GenerateResult> {
        trace.push("model");
        return { text: "t", finishReason: "stop", usage: { promptTokens: 0, completionTokens: 0 }, modelId: "m" };
      },
      async close() {
        closed += 1;
      },
    };
    const layer =
      (name: string): LanguageModelMiddleware =>
      (inner) =>
        withCalls(inner, {
          generate: async (request) => {
            trace.push(`${name} in`);
            const result = await inner.generate(request);
            trace.push(`${name} out`);
            return result;
          },
        });
    const wrapped = wrapLanguageModel({ model, middleware: [layer("outer"), layer("inner")] });
    await wrapped.generate({ prompt: "p" });
    expect(trace).toEqual(["outer in", "inner in", "model", "inner out", "outer out"]);
    expect([wrapped.modelId, wrapped.provider]).toEqual(["m", "test"]);
    expect(wrapped.pricePerMillionTokens).toEqual({ prompt: 1, completion: 2 });
    await wrapped.close?.();
    expect(closed).toBe(1);
    expect(wrapLanguageModel({ model, middleware: layer("only") }).modelId).toBe("m");
  });
});
