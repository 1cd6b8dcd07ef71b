/**
 * Agent memory (SPEC 1.4). Internal memory maps question -> answer per agent, with the question's
 * embedding; retrieval returns the single nearest stored question when its cosine distance is below
 * the embedder's threshold. The first answer stored for a question is kept. Reads go through a
 * per-round snapshot that only sees entries written before the round, so the order in which
 * concurrent interactions finish never changes what another interaction reads.
 */
import { normalise, toUnitVector, type UnitVector, unitVectorDistance } from "../llm/cosine-distance.js";

/** One stored question and answer. `round` is the round that wrote it; -1 for the prior world view. */
export interface MemoryEntry {
  agentId: number;
  question: string;
  answer: string;
  embedding: Float32Array;
  round: number;
}

/** A retrieved memory and how far its question is from the query (cosine distance). */
export interface RetrievedMemory {
  question: string;
  answer: string;
  distance: number;
  /** The round that stored it; -1 for the prior world view. */
  round: number;
}

/** What an interaction reads: memory as of the start of one round. */
export interface MemorySnapshot {
  readonly round: number;
  /** The nearest stored question of `agentId` with distance < threshold, or undefined. Ties: earliest stored. */
  retrieve(agentId: number, queryEmbedding: Float32Array): RetrievedMemory | undefined;
  /** How many entries of `agentId` this snapshot sees. */
  size(agentId: number): number;
}

/** Every agent's internal memory. */
export interface MemoryBank {
  /** Stores an entry unless the agent already holds that question; returns whether it was stored. */
  add(entry: MemoryEntry): boolean;
  /** Whether `agentId` already stores `question`. */
  has(agentId: number, question: string): boolean;
  /** Memory as of the start of `round`: entries with `entry.round < round`. */
  snapshot(round: number): MemorySnapshot;
}

interface StoredEntry {
  question: string;
  answer: string;
  unit: UnitVector;
  round: number;
}

/**
 * Creates an empty memory bank. `distanceThreshold` is the cosine distance under which a stored
 * question counts as similar (take it from the embedder: 0.3 for ada-002-like embedders, 0.4 for the
 * built-in lexical one).
 */
export function createMemoryBank({ distanceThreshold }: { distanceThreshold: number }): MemoryBank {
  const byAgent = new Map<number, StoredEntry[]>();
  const questions = new Map<number, Set<string>>();
  // Agents share most prior questions, and every interaction of a round asks with its question's
  // vector: convert each vector once.
  const units = new WeakMap<Float32Array, UnitVector>();
  const unitOf = (vector: Float32Array): UnitVector => {
    let unit = units.get(vector);
    if (unit === undefined) {
      unit = toUnitVector(vector);
      units.set(vector, unit);
    }
    return unit;
  };
  const queries = new WeakMap<Float32Array, Float32Array>();
  const queryOf = (vector: Float32Array): Float32Array => {
    let query = queries.get(vector);
    if (query === undefined) {
      query = normalise(vector);
      queries.set(vector, query);
    }
    return query;
  };
  return {
    add(entry: MemoryEntry): boolean {
      let known = questions.get(entry.agentId);
      if (known === undefined) {
        known = new Set();
        questions.set(entry.agentId, known);
      }
      if (known.has(entry.question)) return false;
      known.add(entry.question);
      let list = byAgent.get(entry.agentId);
      if (list === undefined) {
        list = [];
        byAgent.set(entry.agentId, list);
      }
      list.push({
        question: entry.question,
        answer: entry.answer,
        unit: unitOf(entry.embedding),
        round: entry.round,
      });
      return true;
    },
    has(agentId: number, question: string): boolean {
      return questions.get(agentId)?.has(question) ?? false;
    },
    snapshot(round: number): MemorySnapshot {
      // Entries only ever append, so a per-agent visible list taken now stays valid all round.
      const visible = new Map<number, StoredEntry[]>();
      for (const [agentId, list] of byAgent)
        visible.set(
          agentId,
          list.filter((entry) => entry.round < round),
        );
      return {
        round,
        size: (agentId) => visible.get(agentId)?.length ?? 0,
        retrieve(agentId: number, queryEmbedding: Float32Array): RetrievedMemory | undefined {
          const entries = visible.get(agentId);
          if (entries === undefined || entries.length === 0) return undefined;
          const query = queryOf(queryEmbedding);
          let best: StoredEntry | undefined;
          let bestDistance = Number.POSITIVE_INFINITY;
          for (const entry of entries) {
            const distance = unitVectorDistance(query, entry.unit);
            if (distance < bestDistance) {
              best = entry;
              bestDistance = distance;
            }
          }
          if (best === undefined || !(bestDistance < distanceThreshold)) return undefined;
          return { question: best.question, answer: best.answer, distance: bestDistance, round: best.round };
        },
      };
    },
  };
}
