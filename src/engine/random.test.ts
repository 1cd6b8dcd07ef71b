import { describe, expect, it } from "vitest";
import { createRandom } from "./random.js";

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
