import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TRAINING_TEXT, VARIED_TEXT } from "../__fixtures__/sample-texts.js";
import { splitGpt2, toByteLevel } from "./byte-level.js";
import { CHATML_TEMPLATE, trainByteLevelBpe } from "./byte-level-bpe-trainer.js";
import { renderChatTemplate } from "./chat-template.js";
import { createTokenizer, loadTokenizer } from "./tokenizer.js";

/** Reference BPE: recounts all pairs each step; ties go to the pair of lower ids (as the trainer). */
function naiveMerges(text: string, count: number): string[] {
  const words = new Map<string, number>();
  for (const piece of splitGpt2(text)) words.set(piece, (words.get(piece) ?? 0) + 1);
  // Specials and the 256 byte characters, with the trainer's ids.
  const ids = new Map(
    Object.entries(trainByteLevelBpe({ texts: [""], vocabularySize: 259 }).tokenizerJson.model.vocab),
  );
  let split = [...words].map(([piece, times]) => ({ symbols: [...toByteLevel(piece)], times }));
  const merges: string[] = [];
  for (let step = 0; step < count; step++) {
    const counts = new Map<string, number>();
    for (const { symbols, times } of split) {
      for (let index = 0; index + 1 < symbols.length; index++) {
        const key = `${symbols[index]} ${symbols[index + 1]}`;
        counts.set(key, (counts.get(key) ?? 0) + times);
      }
    }
    const rank = (key: string) => {
      const [left, right] = key.split(" ") as [string, string];
      return (ids.get(left) as number) * 2 ** 20 + (ids.get(right) as number);
    };
    const best = [...counts].sort((a, b) => b[1] - a[1] || rank(a[0]) - rank(b[0]))[0];
    if (!best || best[1] < 2) break;
    const [left, right] = best[0].split(" ") as [string, string];
    if (!ids.has(left + right)) ids.set(left + right, ids.size);
    merges.push(best[0]);
    split = split.map(({ symbols, times }) => {
      const merged: string[] = [];
      for (let index = 0; index < symbols.length; index++) {
        if (symbols[index] === left && symbols[index + 1] === right) {
          merged.push(left + right);
          index++;
        } else merged.push(symbols[index] as string);
      }
      return { symbols: merged, times };
    });
  }
  return merges;
}

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "tokenizer-"));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe("trainByteLevelBpe", () => {
  const corpus = Array.from({ length: 20 }, () => TRAINING_TEXT);

  it("fills the vocabulary with specials, 256 bytes and merges, deterministically", () => {
    const first = trainByteLevelBpe({ texts: corpus, vocabularySize: 400 });
    const second = trainByteLevelBpe({ texts: corpus, vocabularySize: 400 });
    expect(Object.keys(first.tokenizerJson.model.vocab)).toHaveLength(400);
    expect(first.mergeCount).toBe(400 - 259);
    expect(first.tokenizerJson).toEqual(second.tokenizerJson);
    expect(first.tokenizerJson.model.vocab["<|endoftext|>"]).toBe(0);
    expect(first.tokenizerJson.model.vocab["<|im_end|>"]).toBe(2);
  });

  it("learns the same merges as a naive recount of every pair after each merge", () => {
    const trained = trainByteLevelBpe({ texts: [TRAINING_TEXT], vocabularySize: 259 + 40 });
    expect(trained.tokenizerJson.model.merges).toEqual(naiveMerges(TRAINING_TEXT, 40));
  });

  it("stops early when no pair is frequent enough", () => {
    // Pieces "abab" (once) and "Ġabab" (twice): a+b (6x), ab+ab (3x), Ġ+abab (2x), then nothing twice.
    const trained = trainByteLevelBpe({ texts: ["abab abab abab"], vocabularySize: 1000, minimumFrequency: 2 });
    expect(trained.tokenizerJson.model.merges).toEqual(["a b", "ab ab", "Ġ abab"]);
    const tokenizer = createTokenizer(trained);
    expect(tokenizer.encode("abab abab").map((id) => tokenizer.tokenString(id))).toEqual(["abab", "Ġabab"]);
  });

  it("round-trips varied text through @huggingface/tokenizers, with special tokens mapped to their ids", () => {
    const tokenizer = createTokenizer(trainByteLevelBpe({ texts: corpus, vocabularySize: 600 }));
    const ids = tokenizer.encode(VARIED_TEXT);
    expect(tokenizer.decode(ids)).toBe(VARIED_TEXT);
    expect(ids).toContain(1);
    expect(ids).toContain(2);
    expect(ids).toContain(0);
    expect(ids.length).toBeLessThan(new TextEncoder().encode(VARIED_TEXT).length);
    expect(tokenizer.decode(ids, { skipSpecialTokens: true })).not.toContain("<|im_start|>");
    expect(tokenizer.addsBosToken).toBe(false);
    expect(tokenizer.endTokenIds).toEqual(expect.arrayContaining([0, 2]));
  });

  it("merges only within GPT-2 pre-tokens", () => {
    expect(splitGpt2("Hello  world's 123!\n")).toEqual(["Hello", " ", " world", "'s", " 123", "!", "\n"]);
    expect(toByteLevel(" é")).toBe("Ġ\u00c3\u00a9");
  });
});

describe("loadTokenizer and chat templates", () => {
  it("loads tokenizer.json and tokenizer_config.json from a directory and renders ChatML", async () => {
    const trained = trainByteLevelBpe({ texts: [TRAINING_TEXT], vocabularySize: 300 });
    await writeFile(join(directory, "tokenizer.json"), JSON.stringify(trained.tokenizerJson));
    await writeFile(join(directory, "tokenizer_config.json"), JSON.stringify(trained.tokenizerConfig));
    const tokenizer = await loadTokenizer({ directory });
    expect(tokenizer.chatTemplate).toBe(CHATML_TEMPLATE);
    expect(tokenizer.bosTokenId).toBe(0);
    expect(tokenizer.eosTokenId).toBe(0);
    const prompt = renderChatTemplate({
      template: CHATML_TEMPLATE,
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Hi" },
      ],
    });
    expect(prompt).toBe(
      "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
    );
    expect(tokenizer.encode(prompt).filter((id) => id === 1)).toHaveLength(3);
  });

  it("names the directory when tokenizer.json is missing", async () => {
    await expect(loadTokenizer({ directory: join(directory, "nothing") })).rejects.toThrow(
      /nothing.*no tokenizer\.json/,
    );
  });
});
