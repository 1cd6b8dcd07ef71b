import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readGgufFileInfo } from "node-llama-cpp";
import { describe, expect, it } from "vitest";
import {
  expectedGreedyChatReply,
  expectedGreedyContinuation,
  TINY_MODEL_CHAT_TEMPLATE,
  TINY_MODEL_EOS_TOKEN,
  tinyModelNextByte,
  writeTinyByteModel,
} from "./tiny-gguf-model.js";

describe("expectedGreedyContinuation", () => {
  it("counts upward through printable ASCII from the prompt's last byte", () => {
    expect(expectedGreedyContinuation("hello", 5)).toBe("pqrst");
    expect(expectedGreedyContinuation("x", 0)).toBe("");
  });

  it("wraps ~ to a newline and a newline to a space", () => {
    expect(expectedGreedyContinuation("|", 5)).toBe("}~\n !");
  });

  it("ends at a byte that predicts end-of-sequence", () => {
    expect(tinyModelNextByte(0x09)).toBeUndefined();
    expect(expectedGreedyContinuation("caf\u00e9", 5)).toBe("");
    expect(() => expectedGreedyContinuation("", 3)).toThrow(/non-empty prompt/);
  });

  it("predicts the chat reply from the template's generation prompt", () => {
    expect(expectedGreedyChatReply(4)).toBe("?@AB");
  });
});

describe("writeTinyByteModel", () => {
  it("writes a llama GGUF with a 258-token byte vocabulary, EOS and the chat template", async () => {
    const directory = await mkdtemp(join(tmpdir(), "tiny-model-"));
    try {
      const path = await writeTinyByteModel({ path: join(directory, "tiny.gguf") });
      const info = await readGgufFileInfo(path, { logWarnings: false });
      expect(info.metadata.general.architecture).toBe("llama");
      const tokenizer = info.metadata.tokenizer as unknown as Record<string, Record<string, unknown>>;
      const ggml = tokenizer.ggml as { tokens: string[]; eos_token_id: number; model: string };
      expect(ggml.model).toBe("gpt2");
      expect(ggml.tokens).toHaveLength(258);
      expect(ggml.tokens[0x61]).toBe("a");
      expect(ggml.tokens[0x20]).toBe("\u0120");
      expect(new Set(ggml.tokens).size).toBe(258);
      expect(ggml.eos_token_id).toBe(TINY_MODEL_EOS_TOKEN);
      expect(tokenizer.chat_template).toBe(TINY_MODEL_CHAT_TEMPLATE);
      expect(info.tensorInfo?.map((tensor) => tensor.name)).toContain("output.weight");
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
