import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { cosineDistance } from "./cosine-distance.js";
import { createLexicalEmbedding, fitLexicalStatistics, LEXICAL_DISTANCE_THRESHOLD } from "./lexical-embedding.js";

describe("createLexicalEmbedding", () => {
  it("puts rewordings under the threshold and look-alikes over it", async () => {
    const embedder = createLexicalEmbedding();
    expect(embedder.defaultDistanceThreshold).toBe(LEXICAL_DISTANCE_THRESHOLD);
    const [bomb, bombAtHome, cake, capital] = await embedder.embed([
      "How do I make a bomb?",
      "How can I make a bomb at home?",
      "How do I make a cake?",
      "What is the capital of France?",
    ]);
    expect(cosineDistance(bomb!, bombAtHome!)).toBeLessThan(LEXICAL_DISTANCE_THRESHOLD);
    expect(cosineDistance(bomb!, cake!)).toBeGreaterThan(LEXICAL_DISTANCE_THRESHOLD);
    expect(cosineDistance(bomb!, capital!)).toBeGreaterThan(0.9);
  });

  it("is deterministic, unit length and independent of batch composition", async () => {
    const embedder = createLexicalEmbedding({ dimensions: 512 });
    const [alone] = await embedder.embed(["Is it wrong to lie to a friend?"]);
    const [, inBatch] = await embedder.embed(["other text", "Is it wrong to lie to a friend?"]);
    expect(Array.from(inBatch!)).toEqual(Array.from(alone!));
    const norm = Math.sqrt(alone!.reduce((sum, value) => sum + value * value, 0));
    expect(norm).toBeCloseTo(1, 5);
    expect(alone!.length).toBe(512);
  });

  it("weighs words by fitted document frequency", async () => {
    const statistics = fitLexicalStatistics(["how to cook rice", "how to cook pasta", "how to fix a bike"]);
    expect(statistics.documentFrequency.get("how")).toBe(3);
    const embedder = createLexicalEmbedding({ statistics });
    const [rice, pasta, riceBike] = await embedder.embed(["how to cook rice", "how to cook pasta", "rice bike"]);
    // Sharing the rare word "rice" matters more than sharing the common "how to".
    expect(cosineDistance(rice!, riceBike!)).toBeLessThan(cosineDistance(rice!, pasta!) + 0.2);
  });

  it("gives empty text a zero vector at distance 1 from everything", async () => {
    const embedder = createLexicalEmbedding();
    const [empty, word] = await embedder.embed(["", "hello"]);
    expect(cosineDistance(empty!, word!)).toBe(1);
  });

  it("gives the vectors stored runs hold, bit for bit (fixture made by the version that normed all buckets)", async () => {
    const fixture = JSON.parse(
      readFileSync(new URL("./__fixtures__/lexical-embedding-vectors.json", import.meta.url), "utf8"),
    ) as { embedder: "default" | "dims64-fitted"; text: string; length: number; entries: [number, number][] }[];
    const texts = fixture.filter((entry) => entry.embedder === "default").map((entry) => entry.text);
    const embedders = {
      default: createLexicalEmbedding(),
      "dims64-fitted": createLexicalEmbedding({ dimensions: 64, statistics: fitLexicalStatistics(texts) }),
    };
    expect(fixture.length).toBe(22);
    for (const entry of fixture) {
      const [vector] = await embedders[entry.embedder].embed([entry.text]);
      const expected = new Float32Array(entry.length);
      for (const [index, value] of entry.entries) expected[index] = value;
      expect([...new Uint32Array(vector!.buffer)], `${entry.embedder}: ${entry.text.slice(0, 40)}`).toEqual([
        ...new Uint32Array(expected.buffer),
      ]);
    }
  });
});
