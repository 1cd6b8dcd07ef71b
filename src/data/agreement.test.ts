import { describe, expect, it } from "vitest";
import { fleissKappa, fleissKappaEstimate, krippendorffAlpha, krippendorffAlphaEstimate } from "./agreement.js";

// Three items, three raters each, categories A and B:
//   item 1: A A A -> counts (3, 0), agreeing pairs (3*2 + 0) / (3*2) = 1
//   item 2: A A B -> counts (2, 1), (2*1 + 1*0) / 6 = 1/3
//   item 3: B B B -> counts (0, 3), 1
// P̄ = (1 + 1/3 + 1) / 3 = 7/9; shares pA = 5/9, pB = 4/9; Pₑ = 25/81 + 16/81 = 41/81;
// kappa = (63/81 - 41/81) / (1 - 41/81) = 22/40 = 0.55.
const choices = [
  ["A", "A", "A"],
  ["A", "A", "B"],
  ["B", "B", "B"],
];

describe("fleissKappa", () => {
  it("matches the hand-computed value", () => {
    expect(fleissKappa({ units: choices })).toBeCloseTo(0.55, 12);
  });
  it("is 1 for perfect agreement on two categories and NaN for a single category", () => {
    expect(
      fleissKappa({
        units: [
          ["A", "A"],
          ["B", "B"],
        ],
      }),
    ).toBeCloseTo(1, 12);
    expect(Number.isNaN(fleissKappa({ units: [["A", "A"]] }))).toBe(true);
  });
  it("drops items with one rating", () => {
    expect(fleissKappa({ units: [...choices, ["B"]] })).toBeCloseTo(0.55, 12);
  });
});

describe("krippendorffAlpha", () => {
  it("nominal: matches the hand-computed value", () => {
    // Coincidences (each ordered pair in a unit of 3 weighs 1/2): item 1 gives oAA += 3; item 2 gives
    // oAA += 1, oAB += 1, oBA += 1; item 3 gives oBB += 3. nA = 5, nB = 4, n = 9.
    // Dₒ = (oAB + oBA) / n = 2/9; Dₑ = (nA nB + nB nA) / (n (n - 1)) = 40/72 = 5/9;
    // alpha = 1 - (2/9) / (5/9) = 0.6.
    expect(krippendorffAlpha({ units: choices })).toBeCloseTo(0.6, 12);
  });

  it("ordinal with missing ratings and varying raters: matches the hand-computed value", () => {
    // Units (missing ratings absent): [1, 2], [3, 3, 4], [7] (one rating: not pairable), [2, 4].
    // Coincidences: [1,2] (weight 1): o12 = o21 = 1; [3,3,4] (weight 1/2): o33 = 1, o34 = o43 = 1;
    // [2,4]: o24 = o42 = 1. Marginals n1 = 1, n2 = 2, n3 = 2, n4 = 2; n = 7.
    // Ordinal δ²(c,k) = (Σ_{g=c..k} n_g - (n_c + n_k)/2)²:
    //   (1,2): (3 - 1.5)² = 2.25   (1,3): (5 - 1.5)² = 12.25   (1,4): (7 - 1.5)² = 30.25
    //   (2,3): (4 - 2)² = 4        (2,4): (6 - 2)² = 16        (3,4): (4 - 2)² = 4
    // Dₒ = (2·2.25 + 2·4 + 2·16) / 7 = 44.5 / 7.
    // Dₑ = 2·(1·2·2.25 + 1·2·12.25 + 1·2·30.25 + 2·2·4 + 2·2·16 + 2·2·4) / (7·6) = 371 / 42.
    // alpha = 1 - (44.5/7) / (371/42) = 1 - 267/371 = 104/371.
    const units = [[1, 2], [3, 3, 4], [7], [2, 4]];
    expect(krippendorffAlpha({ units, level: "ordinal" })).toBeCloseTo(104 / 371, 12);
    // Nominal on the same units: Dₒ = 6/7, Dₑ = (49 - 1 - 4 - 4 - 4) / 42 = 36/42, alpha = 0.
    expect(krippendorffAlpha({ units, level: "nominal" })).toBeCloseTo(0, 12);
  });

  it("ordinal rewards near misses that nominal does not", () => {
    const units = [
      [1, 2],
      [6, 7],
      [1, 1],
      [7, 6],
      [2, 1],
    ];
    expect(krippendorffAlpha({ units, level: "ordinal" })).toBeGreaterThan(0.5);
    expect(krippendorffAlpha({ units, level: "nominal" })).toBeLessThan(0.1);
  });

  it("is NaN without pairable ratings and refuses text on the ordinal level", () => {
    expect(Number.isNaN(krippendorffAlpha({ units: [[1], [2]] }))).toBe(true);
    expect(() => krippendorffAlpha({ units: [["A", "B"]], level: "ordinal" })).toThrow(/numeric/);
  });
});

describe("agreement estimates", () => {
  it("bracket the point value, are seeded, and count pairable items", () => {
    const units = Array.from({ length: 30 }, (_, index) =>
      index % 3 === 0 ? ["A", "A", "B"] : index % 3 === 1 ? ["A", "A", "A"] : ["B", "B", "B"],
    );
    const kappa = fleissKappaEstimate({ units, resamples: 500, seed: 1 });
    expect(kappa.value).toBeCloseTo(0.55, 12);
    expect(kappa.lower).toBeLessThanOrEqual(kappa.value);
    expect(kappa.upper).toBeGreaterThanOrEqual(kappa.value);
    expect(kappa.upper - kappa.lower).toBeGreaterThan(0);
    expect(kappa).toEqual(fleissKappaEstimate({ units, resamples: 500, seed: 1 }));
    const alpha = krippendorffAlphaEstimate({ units: [...units, ["A"]], resamples: 500, seed: 1 });
    expect(alpha.count).toBe(30);
    // Ten copies of the three items: oAA = 40, oAB = oBA = 10, oBB = 30, nA = 50, nB = 40, n = 90;
    // Dₒ = 20/90, Dₑ = 2·50·40 / (90·89) = 4000/8010; alpha = 1 - (20·8010) / (90·4000) = 0.555
    // (alpha's n - 1 makes it depend on the sample size, unlike kappa).
    expect(alpha.value).toBeCloseTo(0.555, 12);
  });
});
