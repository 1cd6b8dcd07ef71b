import { describe, expect, it } from "vitest";
import { cosineDistance, normalise, toUnitVector, unitVectorDistance } from "./cosine-distance.js";

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
});
