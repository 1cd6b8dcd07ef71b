/**
 * Agent memory (SPEC 1.4). Internal memory maps question -> answer per agent, with the question's
 * embedding; retrieval returns the single nearest stored question when its cosine distance is below
 * the embedder's threshold. The first answer stored for a question is kept. Reads go through a
 * per-round snapshot that only sees entries written before the round, so the order in which
 * concurrent interactions finish never changes what another interaction reads.
 */
import { toUnitVector, type UnitVector, unitVectorsDistance } from "../llm/cosine-distance.js";

/** An embedding as given (any length) or as a unit vector from `toUnitVector` (kept sparse when mostly zeros). */
export type MemoryEmbedding = Float32Array | UnitVector;

/** One stored question and answer. `round` is the round that wrote it; -1 for the prior world view. */
export interface MemoryEntry {
  agentId: number;
  question: string;
  answer: string;
  embedding: MemoryEmbedding;
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
  retrieve(agentId: number, queryEmbedding: MemoryEmbedding): RetrievedMemory | undefined;
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

/**
 * Creates an empty memory bank. `distanceThreshold` is the cosine distance under which a stored
 * question counts as similar (take it from the embedder: 0.3 for ada-002-like embedders, 0.4 for the
 * built-in lexical one).
 *
 * Layout, for societies of 10,000 agents with 50 prior memories each: entries live in one pool of
 * columns (question number, answer, unit vector, round); each agent holds its entries' positions.
 * Question and answer texts are interned (agents share most prior pairs), each distinct vector is
 * converted to a unit vector once, and a snapshot copies nothing: it filters by round as it reads.
 */
export function createMemoryBank({ distanceThreshold }: { distanceThreshold: number }): MemoryBank {
  const questionNumbers = new Map<string, number>();
  const questionTexts: string[] = [];
  const answers = new Map<string, string>();
  const entryQuestion: number[] = [];
  const entryAnswer: string[] = [];
  const entryUnit: UnitVector[] = [];
  const entryRound: number[] = [];
  const byAgent = new Map<number, number[]>();
  const units = new WeakMap<Float32Array, UnitVector>();
  const unitOf = (embedding: MemoryEmbedding): UnitVector => {
    if (!(embedding instanceof Float32Array)) return embedding;
    let unit = units.get(embedding);
    if (unit === undefined) {
      unit = toUnitVector(embedding);
      units.set(embedding, unit);
    }
    return unit;
  };
  const holds = (agentId: number, questionNumber: number | undefined): boolean => {
    if (questionNumber === undefined) return false;
    const entries = byAgent.get(agentId);
    if (entries === undefined) return false;
    for (const entry of entries) if (entryQuestion[entry] === questionNumber) return true;
    return false;
  };
  return {
    add(entry: MemoryEntry): boolean {
      let questionNumber = questionNumbers.get(entry.question);
      if (holds(entry.agentId, questionNumber)) return false;
      if (questionNumber === undefined) {
        questionNumber = questionTexts.length;
        questionNumbers.set(entry.question, questionNumber);
        questionTexts.push(entry.question);
      }
      let answer = answers.get(entry.answer);
      if (answer === undefined) {
        answer = entry.answer;
        answers.set(answer, answer);
      }
      let entries = byAgent.get(entry.agentId);
      if (entries === undefined) {
        entries = [];
        byAgent.set(entry.agentId, entries);
      }
      entries.push(entryQuestion.length);
      entryQuestion.push(questionNumber);
      entryAnswer.push(answer);
      entryUnit.push(unitOf(entry.embedding));
      entryRound.push(entry.round);
      return true;
    },
    has(agentId: number, question: string): boolean {
      return holds(agentId, questionNumbers.get(question));
    },
    snapshot(round: number): MemorySnapshot {
      // Entries only ever append, and each carries its round: reading those before `round` is the snapshot.
      return {
        round,
        size(agentId) {
          let count = 0;
          for (const entry of byAgent.get(agentId) ?? []) if ((entryRound[entry] as number) < round) count += 1;
          return count;
        },
        retrieve(agentId: number, queryEmbedding: MemoryEmbedding): RetrievedMemory | undefined {
          const entries = byAgent.get(agentId);
          if (entries === undefined || entries.length === 0) return undefined;
          const query = unitOf(queryEmbedding);
          let best = -1;
          let bestDistance = Number.POSITIVE_INFINITY;
          for (const entry of entries) {
            if ((entryRound[entry] as number) >= round) continue;
            const distance = unitVectorsDistance(query, entryUnit[entry] as UnitVector);
            if (distance < bestDistance) {
              best = entry;
              bestDistance = distance;
            }
          }
          if (best < 0 || !(bestDistance < distanceThreshold)) return undefined;
          return {
            question: questionTexts[entryQuestion[best] as number] as string,
            answer: entryAnswer[best] as string,
            distance: bestDistance,
            round: entryRound[best] as number,
          };
        },
      };
    },
  };
}
