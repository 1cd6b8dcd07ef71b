import { describe, expect, it } from "vitest";
import {
  createRandom,
  deriveSeed,
  sampleIndicesWithoutReplacement,
  sampleWithoutReplacement,
  shuffle,
} from "./random.js";

describe("createRandom", () => {
  it("repeats its sequence for a seed and differs across seeds", () => {
    const first = createRandom({ seed: 7 });
    const second = createRandom({ seed: 7 });
    const other = createRandom({ seed: 8 });
    const a = Array.from({ length: 5 }, () => first.nextFloat());
    expect(Array.from({ length: 5 }, () => second.nextFloat())).toEqual(a);
    expect(Array.from({ length: 5 }, () => other.nextFloat())).not.toEqual(a);
  });

  it("draws normals with mean 0 and variance 1, and integers in range", () => {
    const random = createRandom({ seed: 1 });
    let sum = 0;
    let squares = 0;
    const count = 20000;
    for (let index = 0; index < count; index++) {
      const value = random.nextNormal();
      sum += value;
      squares += value * value;
    }
    expect(Math.abs(sum / count)).toBeLessThan(0.03);
    expect(Math.abs(squares / count - 1)).toBeLessThan(0.05);
    for (let index = 0; index < 100; index++) {
      const value = random.nextInteger(3);
      expect(value >= 0 && value < 3 && Number.isInteger(value)).toBe(true);
    }
  });
});

describe("the simulation's sequences (stored runs depend on them: pinned from the code before unification)", () => {
  it("derives seeds and draws mulberry32 numbers, samples and shuffles exactly as before", () => {
    const seed = deriveSeed(7, "round", 3, "agent", 12, "targets");
    expect(seed).toBe(826870634);
    const random = createRandom({ seed, algorithm: "mulberry32" });
    expect([random.nextFloat(), random.nextFloat(), random.nextInteger(10)]).toEqual([
      0.31467467406764627, 0.626356597756967, 8,
    ]);
    const items = [0, 1, 2, 3, 4, 5, 6, 7];
    expect(
      sampleWithoutReplacement({ items, count: 3, random: createRandom({ seed: 42, algorithm: "mulberry32" }) }),
    ).toEqual([4, 0, 7]);
    expect(
      shuffle({ items: ["a", "b", "c", "d", "e"], random: createRandom({ seed: 5, algorithm: "mulberry32" }) }),
    ).toEqual(["d", "e", "c", "b", "a"]);
  });

  it("samples distinct items, never more than there are, each about equally often", () => {
    const random = createRandom({ seed: 11 });
    expect(sampleWithoutReplacement({ items: [1, 2, 3], count: 5, random }).sort()).toEqual([1, 2, 3]);
    expect(sampleWithoutReplacement({ items: [1, 2, 3], count: -1, random })).toEqual([]);
    const hits = new Array<number>(10).fill(0);
    const items = Array.from({ length: 10 }, (_, index) => index);
    for (let trial = 0; trial < 2000; trial += 1) {
      const sample = sampleWithoutReplacement({ items, count: 3, random });
      expect(new Set(sample).size).toBe(3);
      for (const index of sample) hits[index] = (hits[index] as number) + 1;
    }
    for (const count of hits) expect(Math.abs(count - 600)).toBeLessThan(90);
  });

  it("draws positions without listing them exactly as sampling the listed items does", () => {
    expect(
      sampleIndicesWithoutReplacement({
        count: 8,
        take: 3,
        random: createRandom({ seed: 42, algorithm: "mulberry32" }),
      }),
    ).toEqual([4, 0, 7]);
    for (let seed = 0; seed < 200; seed += 1) {
      const count = (seed % 37) + 1;
      const take = seed % 9;
      const items = Array.from({ length: count }, (_, index) => index * 3 + 1);
      const listed = sampleWithoutReplacement({
        items,
        count: take,
        random: createRandom({ seed, algorithm: "mulberry32" }),
      });
      const positions = sampleIndicesWithoutReplacement({
        count,
        take,
        random: createRandom({ seed, algorithm: "mulberry32" }),
      });
      expect(positions.map((position) => items[position])).toEqual(listed);
    }
    // A billion candidates cost nothing: memory grows with the draws.
    const huge = sampleIndicesWithoutReplacement({ count: 1e9, take: 5, random: createRandom({ seed: 3 }) });
    expect(new Set(huge).size).toBe(5);
    expect(sampleIndicesWithoutReplacement({ count: 2, take: -1, random: createRandom({ seed: 3 }) })).toEqual([]);
  });
});
