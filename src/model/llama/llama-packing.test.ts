import { describe, expect, it } from "vitest";
import { expandPackedRows, packRows, packRowsInPlace, unpackedRows } from "./llama-packing.js";

describe("packRows", () => {
  // Two sequences of 6: positions 0..2 share tokens and have no target; targets end at 4 and at 3.
  const tokens = Int32Array.from([1, 2, 3, 4, 5, 0, 1, 2, 3, 9, 0, 0]);
  const targets = Int32Array.from([-1, -1, 4, 5, 6, -1, -1, -1, 9, 8, -1, -1]);
  const packing = packRows({ tokens, targets, batchSize: 2, sequenceLength: 6 });

  it("shares the leading positions with equal tokens and no target, and drops rows past the last target", () => {
    expect(packing.prefixLength).toBe(2);
    // Sequence 0: rows 0..4; sequence 1: its rows 2..3 only.
    expect([...packing.paddedOf]).toEqual([0, 1, 2, 3, 4, 8, 9]);
    expect([...packing.packedOf]).toEqual([0, 1, 2, 3, 4, -1, 0, 1, 5, 6, -1, -1]);
    expect([...(packing.targetRows ?? [])]).toEqual([2, 3, 4, 5, 6]);
  });

  it("expands packed rows into the batch layout and packs them back, summing shared rows on request", () => {
    const width = 2;
    const data = new Float32Array(12 * width);
    packing.paddedOf.forEach((_, packed) => {
      data.set([packed + 1, 10 * (packed + 1)], packed * width);
    });
    const tensor = { shape: [12, width], data };
    expandPackedRows({ data: tensor, packing });
    expect([...data]).toEqual([1, 10, 2, 20, 3, 30, 4, 40, 5, 50, 0, 0, 1, 10, 2, 20, 6, 60, 7, 70, 0, 0, 0, 0]);
    const copy = { shape: [12, width], data: data.slice() };
    packRowsInPlace({ data: copy, packing });
    expect([...copy.data.subarray(0, 7 * width)]).toEqual([1, 10, 2, 20, 3, 30, 4, 40, 5, 50, 6, 60, 7, 70]);
    packRowsInPlace({ data: tensor, packing, sumShared: true });
    expect([...data.subarray(0, 7 * width)]).toEqual([2, 20, 4, 40, 3, 30, 4, 40, 5, 50, 6, 60, 7, 70]);
  });

  it("leaves an unpacked batch as it is", () => {
    const identity = unpackedRows({ batchSize: 2, sequenceLength: 3 });
    const data = Float32Array.from([1, 2, 3, 4, 5, 6]);
    expandPackedRows({ data: { shape: [6, 1], data }, packing: identity });
    packRowsInPlace({ data: { shape: [6, 1], data }, packing: identity, sumShared: true });
    expect([...data]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(identity.targetRows).toBeUndefined();
  });
});
