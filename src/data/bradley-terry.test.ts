import { describe, expect, it } from "vitest";
import { bradleyTerryEstimate, type Comparison, fitBradleyTerry } from "./bradley-terry.js";

function repeat(first: string, second: string, outcome: Comparison["outcome"], times: number): Comparison[] {
  return Array.from({ length: times }, () => ({ first, second, outcome }));
}

describe("fitBradleyTerry", () => {
  it("two models: A wins 3 of 4, so pA / (pA + pB) = 3/4 and the strengths are 0.75 and 0.25", () => {
    const fit = fitBradleyTerry({
      models: ["A", "B"],
      comparisons: [...repeat("A", "B", "win", 3), ...repeat("B", "A", "win", 1)],
    });
    expect(fit.converged).toBe(true);
    expect(fit.strengths[0]).toBeCloseTo(0.75, 8);
    expect(fit.strengths[1]).toBeCloseTo(0.25, 8);
  });

  it("three models: data consistent with strengths 4:2:1 give the maximum-likelihood fit (4, 2, 1) / 7", () => {
    // A-B 2:1 (4/6), A-C 4:1 (4/5), B-C 2:1 (2/3). Check of the likelihood equations
    // Wᵢ = Σⱼ nᵢⱼ pᵢ / (pᵢ + pⱼ) at p = (4, 2, 1): A: 3·4/6 + 5·4/5 = 6 = 2 + 4; B: 3·2/6 + 3·2/3 = 3
    // = 1 + 2; C: 5·1/5 + 3·1/3 = 2 = 1 + 1. So the fit is (4/7, 2/7, 1/7).
    const comparisons = [
      ...repeat("A", "B", "win", 2),
      ...repeat("B", "A", "win", 1),
      ...repeat("A", "C", "win", 4),
      ...repeat("C", "A", "win", 1),
      ...repeat("B", "C", "win", 2),
      ...repeat("C", "B", "win", 1),
    ];
    const fit = fitBradleyTerry({ models: ["A", "B", "C"], comparisons });
    expect(fit.converged).toBe(true);
    expect(fit.strengths.map((value) => value * 7)).toEqual([
      expect.closeTo(4, 7),
      expect.closeTo(2, 7),
      expect.closeTo(1, 7),
    ]);
  });

  it("counts a tie as half a win: 1 win and 2 ties of A against B give pA / pB = 2", () => {
    // W_A = 1 + 2/2 = 2, W_B = 0 + 2/2 = 1 over 3 games: pA / (pA + pB) = 2/3.
    const fit = fitBradleyTerry({
      models: ["A", "B"],
      comparisons: [...repeat("A", "B", "win", 1), ...repeat("B", "A", "tie", 2)],
    });
    expect((fit.strengths[0] as number) / (fit.strengths[1] as number)).toBeCloseTo(2, 7);
  });

  it("says it did not converge when a model never loses, and gives NaN to a model without games", () => {
    const fit = fitBradleyTerry({
      models: ["A", "B", "C"],
      comparisons: repeat("A", "B", "win", 3),
      maxIterations: 50,
    });
    expect(fit.converged).toBe(false);
    expect(Number.isNaN(fit.strengths[2])).toBe(true);
  });
});

describe("bradleyTerryEstimate", () => {
  it("intervals contain the fit and are the same for the same seed", () => {
    const comparisons = [
      ...repeat("A", "B", "win", 12),
      ...repeat("B", "A", "win", 6),
      ...repeat("A", "C", "win", 16),
      ...repeat("C", "A", "win", 4),
      ...repeat("B", "C", "win", 12),
      ...repeat("C", "B", "tie", 6),
    ];
    const estimate = bradleyTerryEstimate({ models: ["A", "B", "C"], comparisons, resamples: 200, seed: 5 });
    expect(estimate.converged).toBe(true);
    for (const score of estimate.scores) {
      expect(score.lower).toBeLessThanOrEqual(score.strength);
      expect(score.upper).toBeGreaterThanOrEqual(score.strength);
    }
    expect(estimate.scores[0]?.strength).toBeGreaterThan(estimate.scores[1]?.strength as number);
    expect(estimate).toEqual(bradleyTerryEstimate({ models: ["A", "B", "C"], comparisons, resamples: 200, seed: 5 }));
  });
});
