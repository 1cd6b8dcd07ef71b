import { describe, expect, it } from "vitest";
import { createLexicalEmbedding } from "../llm/lexical-embedding.js";
import type { EmbeddingModel } from "../spec/embedding-model.js";
import { openStore } from "../store/open-store.js";
import { createSimulationRepository } from "../store/simulation-repository.js";
import { createRoundEmbeddings } from "./embedding-batches.js";

const questionsOf = (round: number) => [`question ${round} a`, `question ${round} b`];

function countingEmbedder({ failOn }: { failOn?: string } = {}) {
  const lexical = createLexicalEmbedding({ dimensions: 64 });
  const batches: string[][] = [];
  const embedder: EmbeddingModel = {
    ...lexical,
    async embed(texts, options) {
      batches.push([...texts]);
      if (failOn !== undefined && texts.includes(failOn)) throw new Error(`embedder down for ${failOn}`);
      return lexical.embed(texts, options);
    },
  };
  return { embedder, batches };
}

describe("createRoundEmbeddings", () => {
  it("embeds a prefetched round once, in a later turn, and hands it to get", async () => {
    const repository = createSimulationRepository(openStore({ path: ":memory:" }).database);
    const { embedder, batches } = countingEmbedder();
    const rounds = createRoundEmbeddings({ embedder, repository, questionsOf });
    const first = await rounds.get(0);
    expect([...first.keys()]).toEqual(questionsOf(0));
    rounds.prefetch(1);
    rounds.prefetch(1);
    // Nothing is embedded in the turn that asked: the round's calls go out first.
    expect(batches).toEqual([questionsOf(0)]);
    const second = await rounds.get(1);
    expect([...second.keys()]).toEqual(questionsOf(1));
    expect(batches).toEqual([questionsOf(0), questionsOf(1)]);
  });

  it("reports a failed prefetch at get, not as an unhandled rejection", async () => {
    const repository = createSimulationRepository(openStore({ path: ":memory:" }).database);
    const { embedder } = countingEmbedder({ failOn: "question 1 a" });
    const rounds = createRoundEmbeddings({ embedder, repository, questionsOf });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      rounds.prefetch(1);
      await new Promise((resolve) => setTimeout(resolve, 20));
      await expect(rounds.get(1)).rejects.toThrow(/embedder down for question 1 a/);
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });
});
