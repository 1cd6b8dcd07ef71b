/**
 * Seeded randomness, the one API of the toolkit (same seed, same numbers): weight initialisation and
 * token sampling (xoshiro128**, the default), the simulation's choices (mulberry32, which stored runs
 * depend on: its sequences must never change), seeds derived from a place (`deriveSeed`), and sampling
 * without replacement and shuffling on any generator.
 */
import { createHash } from "node:crypto";

/** A deterministic generator. */
export interface Random {
  /** Uniform in [0, 1), 32 bits of resolution. */
  nextFloat(): number;
  /** Standard normal (Box-Muller). */
  nextNormal(): number;
  /** Uniform integer in [0, bound): `Math.floor(nextFloat() * bound)`. */
  nextInteger(bound: number): number;
}

/** The generators {@link createRandom} offers. */
export type RandomAlgorithm = "xoshiro128" | "mulberry32";

/**
 * Creates a generator from an integer `seed` (default 0). `algorithm`: "xoshiro128" (default;
 * SplitMix32 seeding a xoshiro128** state) or "mulberry32" (the simulation's sampling choices: runs
 * on disk depend on its exact sequence).
 */
export function createRandom({
  seed = 0,
  algorithm = "xoshiro128",
}: {
  seed?: number;
  algorithm?: RandomAlgorithm;
} = {}): Random {
  const nextFloat = algorithm === "mulberry32" ? mulberry32(seed) : xoshiro128(seed);
  let spareNormal: number | undefined;
  return {
    nextFloat,
    nextNormal: () => {
      if (spareNormal !== undefined) {
        const value = spareNormal;
        spareNormal = undefined;
        return value;
      }
      const radius = Math.sqrt(-2 * Math.log(1 - nextFloat()));
      const angle = 2 * Math.PI * nextFloat();
      spareNormal = radius * Math.sin(angle);
      return radius * Math.cos(angle);
    },
    nextInteger: (bound) => Math.floor(nextFloat() * bound),
  };
}

/** xoshiro128** seeded by SplitMix32: a function giving the next number in [0, 1). */
function xoshiro128(seed: number): () => number {
  let seedState = seed >>> 0;
  const splitMix = (): number => {
    seedState = (seedState + 0x9e3779b9) >>> 0;
    let z = seedState;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitMix();
  let b = splitMix();
  let c = splitMix();
  let d = splitMix();
  return () => {
    const result = Math.imul(rotateLeft(Math.imul(b, 5) >>> 0, 7), 9) >>> 0;
    const t = (b << 9) >>> 0;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotateLeft(d, 11);
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    return result / 4294967296;
  };
}

/**
 * A 31-bit seed derived from a base seed and the place it is used, e.g.
 * `deriveSeed(7, "round", 3, "agent", 12, "targets")`, so a choice depends only on the run seed and
 * where it is made, never on the order concurrent work finishes. Positive and below 2^31 so every
 * backend accepts it as a sampling seed.
 */
export function deriveSeed(baseSeed: number, ...parts: readonly (string | number)[]): number {
  const digest = createHash("sha256")
    .update(JSON.stringify([baseSeed, ...parts]))
    .digest();
  return digest.readUInt32LE(0) & 0x7fffffff;
}

/** `count` distinct items drawn uniformly without replacement, in draw order (partial Fisher-Yates). */
export function sampleWithoutReplacement<T>({
  items,
  count,
  random,
}: {
  items: readonly T[];
  count: number;
  random: Random;
}): T[] {
  const pool = [...items];
  const take = Math.min(Math.max(0, count), pool.length);
  for (let index = 0; index < take; index += 1) {
    const swap = index + random.nextInteger(pool.length - index);
    const chosen = pool[swap] as T;
    pool[swap] = pool[index] as T;
    pool[index] = chosen;
  }
  return pool.slice(0, take);
}

/**
 * `take` distinct positions of [0, count) drawn uniformly without replacement, in draw order, without
 * listing the positions: the same draws and the same result as {@link sampleWithoutReplacement} over a
 * list of `count` items (the partial Fisher-Yates of that list, with only the moved positions kept in
 * a map), so `itemAt` of each position equals what sampling the listed items would return. Memory
 * and time grow with `take`, not `count`.
 */
export function sampleIndicesWithoutReplacement({
  count,
  take,
  random,
}: {
  count: number;
  take: number;
  random: Random;
}): number[] {
  const chosen: number[] = [];
  const moved = new Map<number, number>();
  const draws = Math.min(Math.max(0, take), Math.max(0, count));
  for (let index = 0; index < draws; index += 1) {
    const swap = index + random.nextInteger(count - index);
    chosen.push(moved.get(swap) ?? swap);
    moved.set(swap, moved.get(index) ?? index);
  }
  return chosen;
}

/** A shuffled copy of `items` (all of them drawn by {@link sampleWithoutReplacement}). */
export function shuffle<T>({ items, random }: { items: readonly T[]; random: Random }): T[] {
  return sampleWithoutReplacement({ items, count: items.length, random });
}

function rotateLeft(value: number, bits: number): number {
  return ((value << bits) | (value >>> (32 - bits))) >>> 0;
}

/**
 * mulberry32: the small, fast uniform generator used for sampling choices (simulation, data mixing,
 * synthetic data, fake answers). Returns a function giving the next number in [0, 1).
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}
