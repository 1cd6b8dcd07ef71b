/** Seeded pseudo-random numbers for weight initialisation and sampling (same seed, same numbers). */

/** A deterministic generator. */
export interface Random {
  /** Uniform in [0, 1), 32 bits of resolution. */
  nextFloat(): number;
  /** Standard normal (Box-Muller). */
  nextNormal(): number;
  /** Uniform integer in [0, bound). */
  nextInteger(bound: number): number;
}

/** Creates a generator (SplitMix32 seeding a xoshiro128** state) from an integer `seed` (default 0). */
export function createRandom(options: { seed?: number } = {}): Random {
  let seedState = (options.seed ?? 0) >>> 0;
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
  const nextUint32 = (): number => {
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
    return result;
  };
  let spareNormal: number | undefined;
  const random: Random = {
    nextFloat: () => nextUint32() / 4294967296,
    nextNormal: () => {
      if (spareNormal !== undefined) {
        const value = spareNormal;
        spareNormal = undefined;
        return value;
      }
      const radius = Math.sqrt(-2 * Math.log(1 - random.nextFloat()));
      const angle = 2 * Math.PI * random.nextFloat();
      spareNormal = radius * Math.sin(angle);
      return radius * Math.cos(angle);
    },
    nextInteger: (bound) => Math.floor(random.nextFloat() * bound),
  };
  return random;
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
