import { describe, expect, it } from "vitest";
import { ConfigError } from "../../spec/errors.js";
import { llamaPresets, validateLlamaConfig } from "./llama-config.js";
import { llamaParameterLayout } from "./llama-parameters.js";

describe("llama config", () => {
  it("has the presets' parameter counts: small 5.25M (untied), 30m about 30M (tied)", () => {
    expect(llamaParameterLayout(llamaPresets.small).totalSize).toBe(5_245_184);
    const thirty = llamaParameterLayout(llamaPresets["30m"]).totalSize;
    expect(thirty).toBeGreaterThan(29_000_000);
    expect(thirty).toBeLessThan(31_000_000);
    expect(llamaParameterLayout(llamaPresets.tiny).entries.at(-1)?.name).toBe("model.norm.weight");
  });

  it("rejects inconsistent dimensions, naming the field and file", () => {
    const config = { ...llamaPresets.tiny };
    expect(validateLlamaConfig(config)).toBe(config);
    try {
      validateLlamaConfig({ ...config, kvHeads: 3 }, "model/config.json");
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).field).toBe("kvHeads");
      expect((error as ConfigError).file).toBe("model/config.json");
    }
    expect(() => validateLlamaConfig({ ...config, vocabularySize: 0 })).toThrow(/vocabularySize/);
    expect(() => validateLlamaConfig({ ...config, hiddenSize: 60 })).toThrow(ConfigError);
  });
});
