import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { openStore } from "./open-store.js";
import { createSimulationRepository } from "./simulation-repository.js";

function setup() {
  const store = openStore({ path: ":memory:" });
  const repository = createSimulationRepository(store.database);
  repository.createRun({
    runId: "r",
    config: { a: 1 },
    agents: [{ agentId: 0, row: 0, col: 0, label: "good", modelId: "m" }],
    memories: [{ agentId: 0, question: "q", answer: "prior", round: -1 }],
  });
  return { store, repository };
}

describe("simulation repository", () => {
  it("keeps the first payload of a step and the first answer to a question", () => {
    const { repository } = setup();
    repository.beginInteraction({ runId: "r", round: 0, agentId: 0, question: "q", targetIds: [1], startedAt: 5 });
    repository.beginInteraction({ runId: "r", round: 0, agentId: 0, question: "other", targetIds: [2], startedAt: 9 });
    repository.saveStep({ runId: "r", round: 0, agentId: 0, step: "draft", payload: { text: "first" } });
    repository.saveStep({ runId: "r", round: 0, agentId: 0, step: "draft", payload: { text: "second" } });
    repository.saveStep({ runId: "r", round: 0, agentId: 0, step: "peer-rating", peerId: 3, payload: { rating: 4 } });
    const [interaction] = repository.loadRoundInteractions("r", 0);
    expect(interaction).toMatchObject({ question: "q", targetIds: [1], startedAt: 5, status: "running" });
    expect(interaction?.steps.get("draft")).toEqual({ text: "first" });
    expect(interaction?.steps.get("peer-rating:3")).toEqual({ rating: 4 });
    repository.completeInteraction({
      runId: "r",
      round: 0,
      agentId: 0,
      record: { done: 1 },
      completedAt: 7,
      memory: { agentId: 0, question: "q", answer: "revised", round: 0 },
    });
    // Completing twice changes nothing: the record and memory are written once.
    repository.completeInteraction({
      runId: "r",
      round: 0,
      agentId: 0,
      record: { done: 2 },
      completedAt: 8,
      memory: undefined,
    });
    expect(repository.loadRecords("r")).toEqual([{ done: 1 }]);
    expect(repository.loadMemories("r")).toEqual([{ agentId: 0, question: "q", answer: "prior", round: -1 }]);
  });

  it("stores a new run's prior per agent in the given order, first answer of a repeated question kept", () => {
    const store = openStore({ path: ":memory:" });
    const repository = createSimulationRepository(store.database);
    const prior = (agentId: number, question: string, answer: string) => ({ agentId, question, answer, round: -1 });
    repository.createRun({
      runId: "p",
      config: {},
      agents: [0, 1].map((agentId) => ({ agentId, row: 0, col: agentId, label: "good" as const, modelId: "m" })),
      memories: [
        prior(1, "z", "1z"),
        prior(0, "b", "0b"),
        prior(1, "a", "1a"),
        prior(0, "b", "0b again"),
        prior(0, "a", "0a"),
      ],
    });
    repository.beginInteraction({ runId: "p", round: 0, agentId: 0, question: "c", targetIds: [1], startedAt: 0 });
    repository.completeInteraction({
      runId: "p",
      round: 0,
      agentId: 0,
      record: {},
      completedAt: 1,
      memory: { agentId: 0, question: "c", answer: "0c", round: 0 },
    });
    // Positions count from 0 per agent in insertion order (no gap where the repeat was dropped), and a
    // later memory takes the next one.
    const positions = store.database
      .prepare(
        "SELECT agent_id, question, position FROM simulation_memories WHERE run_id = 'p' ORDER BY agent_id, position",
      )
      .all();
    expect(positions).toEqual([
      { agent_id: 0, question: "b", position: 0 },
      { agent_id: 0, question: "a", position: 1 },
      { agent_id: 0, question: "c", position: 2 },
      { agent_id: 1, question: "z", position: 0 },
      { agent_id: 1, question: "a", position: 1 },
    ]);
    expect(repository.loadMemories("p").map((memory) => memory.answer)).toEqual(["0b", "0a", "0c", "1z", "1a"]);
  });

  it("stores embeddings once per embedder and text, and rounds with their records size", () => {
    const { repository } = setup();
    repository.saveEmbeddings("lexical", [{ text: "a", vector: Float32Array.from([1, 2]) }]);
    repository.saveEmbeddings("lexical", [{ text: "a", vector: Float32Array.from([9, 9]) }]);
    expect([...(repository.findEmbeddings("lexical", ["a", "b"]).get("a") ?? [])]).toEqual([1, 2]);
    expect(repository.findEmbeddings("other", ["a"]).size).toBe(0);
    // Mostly-zero vectors are stored sparse and come back exactly.
    const sparse = new Float32Array(4096);
    sparse[7] = 0.25;
    sparse[4000] = -0.5;
    repository.saveEmbeddings("lexical", [{ text: "sparse", vector: sparse }]);
    expect(repository.findEmbeddings("lexical", ["sparse"]).get("sparse")).toEqual(sparse);
    repository.completeRound({ runId: "r", round: 0, summary: { s: 1 }, recordsBytes: 42 });
    expect(repository.loadRounds("r")).toEqual([{ round: 0, summary: { s: 1 }, recordsBytes: 42 }]);
    expect(repository.findRun("r")).toEqual({ config: { a: 1 }, status: "running" });
    expect(repository.listRunIds()).toEqual(["r"]);
  });

  it("exclusive: other connections cannot write until it returns, and a throw rolls it back", () => {
    const path = join(mkdtempSync(join(tmpdir(), "repository-lock-")), "run.sqlite");
    const store = openStore({ path });
    const repository = createSimulationRepository(store.database);
    const other = new Database(path);
    other.pragma("busy_timeout = 0");
    const writeFromOther = () => other.prepare("INSERT INTO simulation_embeddings VALUES ('m', 'x', x'00')").run();
    repository.exclusive(() => {
      expect(writeFromOther).toThrow(/locked|busy/i);
      repository.saveEmbeddings("m", [{ text: "inside", vector: new Float32Array([1]) }]);
    });
    expect(repository.findEmbeddings("m", ["inside"]).size).toBe(1);
    expect(() =>
      repository.exclusive(() => {
        repository.saveEmbeddings("m", [{ text: "rolled back", vector: new Float32Array([1]) }]);
        throw new Error("stop");
      }),
    ).toThrow("stop");
    expect(repository.findEmbeddings("m", ["rolled back"]).size).toBe(0);
    writeFromOther();
    other.close();
    store.close();
  });
});
