import { describe, expect, it } from "vitest";
import { ConfigError } from "../spec/errors.js";
import { createSeededRandom, formatDataMix, mixQuotas, parseDataMix, sampleWithoutReplacement } from "./data-mix.js";

describe("data mix", () => {
  it("parses all and ratios, and rejects the rest with a ConfigError", () => {
    expect(parseDataMix("all")).toEqual({ mode: "all" });
    expect(parseDataMix("5:1:1")).toEqual({ mode: "ratio", ratio: { imitation: 5, "self-critic": 1, realignment: 1 } });
    expect(formatDataMix(parseDataMix("4:2:0.5"))).toBe("4:2:0.5");
    for (const bad of ["5:1", "a:b:c", "0:1:1", "-1:1:1", ""]) expect(() => parseDataMix(bad)).toThrow(ConfigError);
  });

  it("keeps all imitation examples and caps the others at their share, never upsampling", () => {
    const mix = parseDataMix("5:1:1");
    expect(mixQuotas({ mix, available: { imitation: 48_800, "self-critic": 94_600, realignment: 25_600 } })).toEqual({
      imitation: 48_800,
      "self-critic": 9_760,
      realignment: 9_760,
    });
    expect(mixQuotas({ mix, available: { imitation: 14, "self-critic": 50, realignment: 1 } })).toEqual({
      imitation: 14,
      "self-critic": 2,
      realignment: 1,
    });
    expect(
      mixQuotas({ mix: parseDataMix("5:2:1"), available: { imitation: 10, "self-critic": 9, realignment: 9 } }),
    ).toEqual({
      imitation: 10,
      "self-critic": 4,
      realignment: 2,
    });
    expect(
      mixQuotas({ mix: parseDataMix("all"), available: { imitation: 1, "self-critic": 9, realignment: 3 } }),
    ).toEqual({
      imitation: 1,
      "self-critic": 9,
      realignment: 3,
    });
  });

  it("samples distinct indices in ascending order, reproducibly per seed and stream", () => {
    const take = (seed: number, stream: string) => [
      ...sampleWithoutReplacement({ count: 50, take: 10, random: createSeededRandom({ seed, stream }) }),
    ];
    const sample = take(3, "self-critic");
    expect(sample).toHaveLength(10);
    expect(new Set(sample).size).toBe(10);
    expect([...sample].sort((left, right) => left - right)).toEqual(sample);
    expect(sample.every((index) => index >= 0 && index < 50)).toBe(true);
    expect(take(3, "self-critic")).toEqual(sample);
    expect(take(3, "realignment")).not.toEqual(sample);
    expect(take(4, "self-critic")).not.toEqual(sample);
    expect([...sampleWithoutReplacement({ count: 3, take: 5, random: createSeededRandom({ seed: 1 }) })]).toEqual([
      0, 1, 2,
    ]);
  });

  it("draws every index about equally often", () => {
    const hits = new Array<number>(10).fill(0);
    const random = createSeededRandom({ seed: 11 });
    for (let trial = 0; trial < 2000; trial += 1) {
      for (const index of sampleWithoutReplacement({ count: 10, take: 3, random }))
        hits[index] = (hits[index] as number) + 1;
    }
    for (const count of hits) expect(Math.abs(count - 600)).toBeLessThan(90);
  });
});
