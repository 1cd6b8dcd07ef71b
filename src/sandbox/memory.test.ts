import { describe, expect, it } from "vitest";
import { cosineDistance } from "../llm/cosine-distance.js";
import { createMemoryBank } from "./memory.js";

const vector = (...values: number[]) => Float32Array.from(values);

describe("memory (SPEC 1.4)", () => {
  it("retrieves the single nearest question only below the distance threshold", () => {
    const bank = createMemoryBank({ distanceThreshold: 0.3 });
    bank.add({ agentId: 1, question: "near", answer: "a1", embedding: vector(1, 0.2, 0), round: -1 });
    bank.add({ agentId: 1, question: "nearer", answer: "a2", embedding: vector(1, 0.05, 0), round: -1 });
    bank.add({ agentId: 1, question: "far", answer: "a3", embedding: vector(0, 1, 0), round: -1 });
    const snapshot = bank.snapshot(0);
    expect(snapshot.retrieve(1, vector(1, 0, 0))).toMatchObject({ question: "nearer", answer: "a2" });
    // Distance of (0.6, 0.8) to (1, 0.05): about 0.35, above 0.3; to (0, 1): 0.2, retrieved.
    expect(snapshot.retrieve(1, vector(0.6, 0.8, 0))?.question).toBe("far");
    expect(snapshot.retrieve(1, vector(0, 0, 1))).toBeUndefined();
    expect(snapshot.retrieve(2, vector(1, 0, 0))).toBeUndefined();
    // The threshold is strict: exactly at it is not similar.
    const strict = createMemoryBank({ distanceThreshold: cosineDistance(vector(1, 0), vector(1, 1)) });
    strict.add({ agentId: 0, question: "q", answer: "a", embedding: vector(1, 0), round: -1 });
    expect(strict.snapshot(0).retrieve(0, vector(1, 1))).toBeUndefined();
  });

  it("keeps the first answer stored for a question", () => {
    const bank = createMemoryBank({ distanceThreshold: 0.5 });
    expect(bank.add({ agentId: 0, question: "q", answer: "first", embedding: vector(1, 0), round: -1 })).toBe(true);
    expect(bank.add({ agentId: 0, question: "q", answer: "second", embedding: vector(1, 0), round: 0 })).toBe(false);
    expect(bank.snapshot(5).retrieve(0, vector(1, 0))?.answer).toBe("first");
  });

  it("a snapshot sees memory as of its round's start; writes of the round appear in the next", () => {
    const bank = createMemoryBank({ distanceThreshold: 0.5 });
    bank.add({ agentId: 0, question: "prior", answer: "p", embedding: vector(0, 1), round: -1 });
    const roundZero = bank.snapshot(0);
    bank.add({ agentId: 0, question: "new", answer: "n", embedding: vector(1, 0), round: 0 });
    expect(roundZero.retrieve(0, vector(1, 0))).toBeUndefined();
    expect(roundZero.size(0)).toBe(1);
    expect(bank.snapshot(0).retrieve(0, vector(1, 0))).toBeUndefined();
    expect(bank.snapshot(1).retrieve(0, vector(1, 0))?.answer).toBe("n");
  });
});
