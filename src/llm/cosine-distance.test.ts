import { describe, expect, it } from "vitest";
import { createRandom } from "../engine/random.js";
import { cosineDistance, normalise, toUnitVector, unitVectorDistance, unitVectorsDistance } from "./cosine-distance.js";

const vector = (...values: number[]) => Float32Array.from(values);

describe("cosineDistance", () => {
  it("is 0 for one direction, 1 for orthogonal or zero vectors, 2 for opposite", () => {
    expect(cosineDistance(vector(2, 0), vector(5, 0))).toBeCloseTo(0, 6);
    expect(cosineDistance(vector(1, 0), vector(0, 3))).toBeCloseTo(1, 6);
    expect(cosineDistance(vector(0, 0), vector(0, 3))).toBe(1);
    expect(cosineDistance(vector(1, 0), vector(-1, 0))).toBeCloseTo(2, 6);
    expect(cosineDistance(vector(1, 0), vector(1, 1))).toBeCloseTo(1 - Math.SQRT1_2, 6);
  });

  it("throws on a length mismatch instead of comparing a prefix", () => {
    expect(() => cosineDistance(vector(1, 0), vector(1, 0, 0))).toThrow(/embedding lengths differ: 2 and 3/);
  });

  it("gives the same number on sparse and dense unit vectors", () => {
    const sparse = new Float32Array(64);
    sparse[3] = 1;
    sparse[40] = 2;
    const dense = Float32Array.from({ length: 64 }, (_, index) => (index % 5) + 1);
    expect(toUnitVector(sparse).indices).toBeDefined();
    expect(unitVectorDistance(normalise(dense), toUnitVector(sparse))).toBe(cosineDistance(dense, sparse));
    expect(unitVectorDistance(normalise(sparse), toUnitVector(dense))).toBeCloseTo(cosineDistance(dense, sparse), 6);
  });

  it("gives the bit-identical number from a sparse query as from its dense unit copy", () => {
    const random = createRandom({ seed: 17 });
    const make = (length: number, nonZero: number): Float32Array => {
      const vector = new Float32Array(length);
      for (let index = 0; index < nonZero; index += 1) {
        vector[random.nextInteger(length)] = random.nextFloat() * 4 - 2;
      }
      return vector;
    };
    for (let trial = 0; trial < 300; trial += 1) {
      const length = 8 + random.nextInteger(200);
      const left = make(length, trial % 3 === 0 ? length : 1 + random.nextInteger(12));
      const right = make(length, trial % 5 === 0 ? length : 1 + random.nextInteger(12));
      const expected = unitVectorDistance(normalise(left), toUnitVector(right));
      expect(Object.is(unitVectorsDistance(toUnitVector(left), toUnitVector(right)), expected)).toBe(true);
    }
    expect(unitVectorsDistance(toUnitVector(new Float32Array(4)), toUnitVector(vector(1, 0, 0, 0)))).toBe(1);
    expect(() => unitVectorsDistance(toUnitVector(vector(1, 0, 0, 0, 0)), toUnitVector(vector(1, 0)))).toThrow(
      /lengths differ/,
    );
  });
});
