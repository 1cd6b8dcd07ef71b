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

  it("toUnitVector holds exactly the non-zero values of normalise's copy, sparse below a quarter non-zero", () => {
    // The definition, spelled out: normalise, then keep positions and values of the non-zeros.
    const reference = (input: Float32Array) => {
      const dense = normalise(input);
      const positions = [...dense.keys()].filter((index) => dense[index] !== 0);
      return positions.length * 4 >= dense.length
        ? { indices: undefined, values: [...dense] }
        : { indices: positions, values: positions.map((index) => dense[index] as number) };
    };
    const random = createRandom({ seed: 5 });
    const scales = [1, 1e-30, 1e30, 1e-44];
    for (let trial = 0; trial < 600; trial += 1) {
      const length = [1, 3, 8, 64, 4096][trial % 5] as number;
      const density = [0, 0.01, 0.2, 0.24, 0.26, 0.5, 1][trial % 7] as number;
      const input = new Float32Array(length);
      for (let index = 0; index < length; index += 1) {
        if (random.nextFloat() < density) input[index] = (random.nextFloat() - 0.5) * (scales[trial % 4] as number);
      }
      const unit = toUnitVector(input);
      const expected = reference(input);
      expect(unit.length).toBe(length);
      expect(unit.indices === undefined ? undefined : [...unit.indices]).toEqual(expected.indices);
      // Bit for bit: values are compared as their float32 bit patterns (NaN and -0 included).
      expect([...new Uint32Array(Float32Array.from(unit.values).buffer)]).toEqual([
        ...new Uint32Array(Float32Array.from(expected.values).buffer),
      ]);
    }
    // A value too small to survive the division is not kept (1e-45 over a norm of 1e4 underflows to 0).
    const tiny = new Float32Array(16);
    tiny[2] = 1e4;
    tiny[9] = 1e-45;
    expect([...(toUnitVector(tiny).indices ?? [])]).toEqual([2]);
  });
});
