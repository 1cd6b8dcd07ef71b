/**
 * Seeded randomness for the simulation. Every random choice is drawn from a generator seeded by
 * `deriveSeed(runSeed, ...where)`, so a choice depends only on the run seed and on where it is made
 * (round, agent, step), never on the order in which concurrent work finishes. That is what lets a
 * resumed run equal an uninterrupted one.
 */
import { createHash } from "node:crypto";
import { mulberry32 } from "../engine/random.js";

/** A seeded source of uniform numbers in [0, 1). */
export interface Random {
  /** The next number in [0, 1). */
  next(): number;
  /** A uniform integer in [0, exclusiveMaximum). */
  integer(exclusiveMaximum: number): number;
}

/** Creates a generator (mulberry32: small, fast, good enough for sampling cells and answers). */
export function createRandom(seed: number): Random {
  const next = mulberry32(seed);
  return {
    next,
    integer(exclusiveMaximum: number): number {
      return Math.floor(next() * exclusiveMaximum);
    },
  };
}

/**
 * A 31-bit seed derived from a base seed and the place it is used, e.g.
 * `deriveSeed(7, "round", 3, "agent", 12, "targets")`. Positive and below 2^31 so that every backend
 * accepts it as a sampling seed.
 */
export function deriveSeed(baseSeed: number, ...parts: readonly (string | number)[]): number {
  const digest = createHash("sha256")
    .update(JSON.stringify([baseSeed, ...parts]))
    .digest();
  return digest.readUInt32LE(0) & 0x7fffffff;
}

/** `count` distinct items drawn uniformly without replacement, in draw order (partial Fisher-Yates). */
export function sampleWithoutReplacement<T>(items: readonly T[], count: number, random: Random): T[] {
  const pool = [...items];
  const take = Math.min(Math.max(0, count), pool.length);
  for (let index = 0; index < take; index += 1) {
    const swap = index + random.integer(pool.length - index);
    const chosen = pool[swap] as T;
    pool[swap] = pool[index] as T;
    pool[index] = chosen;
  }
  return pool.slice(0, take);
}

/** A shuffled copy of `items`. */
export function shuffle<T>(items: readonly T[], random: Random): T[] {
  return sampleWithoutReplacement(items, items.length, random);
}
