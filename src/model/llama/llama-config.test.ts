import { describe, expect, it } from "vitest";
import { ConfigError } from "../../spec/errors.js";
import {
  llamaConfigFromHuggingFace,
  llamaConfigToHuggingFace,
  llamaPresets,
  validateLlamaConfig,
} from "./llama-config.js";
import { llamaParameterLayout } from "./llama-parameters.js";

describe("llama config", () => {
  it("has the presets' parameter counts: small 5.25M (untied), 30m about 30M (tied)", () => {
    expect(llamaParameterLayout(llamaPresets.small).totalSize).toBe(5_245_184);
    const thirty = llamaParameterLayout(llamaPresets["30m"]).totalSize;
    expect(thirty).toBeGreaterThan(29_000_000);
    expect(thirty).toBeLessThan(31_000_000);
    expect(llamaParameterLayout(llamaPresets.tiny).entries.at(-1)?.name).toBe("model.norm.weight");
  });

  it("round-trips through a Hugging Face config.json object", () => {
    for (const preset of Object.values(llamaPresets)) {
      expect(llamaConfigFromHuggingFace(llamaConfigToHuggingFace(preset))).toEqual(preset);
    }
  });

  it("fills Hugging Face defaults and rejects inconsistent dimensions, naming the field and file", () => {
    const json = {
      hidden_size: 64,
      num_hidden_layers: 1,
      num_attention_heads: 4,
      intermediate_size: 8,
      vocab_size: 10,
    };
    const config = llamaConfigFromHuggingFace(json);
    expect(config.kvHeads).toBe(4);
    expect(config.ropeTheta).toBe(10000);
    expect(config.tieWordEmbeddings).toBe(false);
    try {
      validateLlamaConfig({ ...config, kvHeads: 3 }, "model/config.json");
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).field).toBe("kvHeads");
      expect((error as ConfigError).file).toBe("model/config.json");
    }
    expect(() => llamaConfigFromHuggingFace({ ...json, vocab_size: "10" })).toThrow(/vocab_size/);
    expect(() => validateLlamaConfig({ ...config, hiddenSize: 60 })).toThrow(ConfigError);
  });
});
