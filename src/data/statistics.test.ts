import { describe, expect, it } from "vitest";
import { bootstrapIntervals, bootstrapMean, mean, pairedBootstrapDifference, quantile, winRate } from "./statistics.js";

describe("quantile", () => {
  it("interpolates between order statistics (type 7)", () => {
    expect(quantile([1, 2, 3, 4], 0.25)).toBeCloseTo(1.75, 12);
    expect(quantile([1, 2, 3, 4], 0.5)).toBeCloseTo(2.5, 12);
    expect(quantile([1, 2, 3, 4], 1)).toBe(4);
    expect(quantile([10], 0.3)).toBe(10);
  });
  it("refuses an empty sample and a probability outside [0, 1]", () => {
    expect(() => quantile([], 0.5)).toThrow(/empty/);
    expect(() => quantile([1], 1.5)).toThrow(/not in \[0, 1\]/);
  });
});

describe("bootstrapMean", () => {
  it("gives a degenerate interval for a constant sample", () => {
    const estimate = bootstrapMean({ values: [3, 3, 3, 3] });
    expect(estimate).toEqual({ value: 3, lower: 3, upper: 3, count: 4, confidence: 0.95 });
  });

  it("matches the exact bootstrap distribution of a two-point sample", () => {
    // Resample means of [0, 1] are 0, 0.5, 1 with probabilities 1/4, 1/2, 1/4: the 2.5% and 97.5%
    // quantiles are 0 and 1; the 30% and 70% quantiles both fall on 0.5.
    const wide = bootstrapMean({ values: [0, 1], resamples: 20_000 });
    expect([wide.value, wide.lower, wide.upper]).toEqual([0.5, 0, 1]);
    const narrow = bootstrapMean({ values: [0, 1], resamples: 20_000, confidence: 0.4 });
    expect([narrow.lower, narrow.upper]).toEqual([0.5, 0.5]);
  });

  it("agrees with the normal approximation on a large Bernoulli sample", () => {
    // 30 ones in 100: standard error sqrt(0.3 * 0.7 / 100) = 0.0458, so about 0.3 -/+ 0.0898.
    const values = Array.from({ length: 100 }, (_, index) => (index % 10 < 3 ? 1 : 0));
    const estimate = bootstrapMean({ values, resamples: 10_000, seed: 7 });
    expect(estimate.value).toBeCloseTo(0.3, 12);
    expect(estimate.lower).toBeGreaterThan(0.3 - 0.0898 - 0.015);
    expect(estimate.lower).toBeLessThan(0.3 - 0.0898 + 0.015);
    expect(estimate.upper).toBeGreaterThan(0.3 + 0.0898 - 0.015);
    expect(estimate.upper).toBeLessThan(0.3 + 0.0898 + 0.015);
  });

  it("is the same for the same seed and says NaN for an empty sample", () => {
    const values = Array.from({ length: 40 }, (_, index) => Math.sin(index * 12.9898) * 100);
    expect(bootstrapMean({ values, seed: 3 })).toEqual(bootstrapMean({ values, seed: 3 }));
    const [three, four] = [bootstrapMean({ values, seed: 3 }), bootstrapMean({ values, seed: 4 })];
    expect([three.lower, three.upper]).not.toEqual([four.lower, four.upper]);
    const empty = bootstrapMean({ values: [] });
    expect(empty.count).toBe(0);
    expect(Number.isNaN(empty.value) && Number.isNaN(empty.lower)).toBe(true);
  });

  it("refuses a confidence outside (0, 1) and a non-integer number of resamples", () => {
    expect(() => bootstrapMean({ values: [1], confidence: 1 })).toThrow(/confidence/);
    expect(() => bootstrapMean({ values: [1], resamples: 0.5 })).toThrow(/resamples/);
  });
});

describe("pairedBootstrapDifference", () => {
  it("cancels per-item difficulty: a constant gap gives a degenerate interval", () => {
    const right = [0.1, 0.9, 0.4, 0.7, 0.2];
    const left = right.map((value) => value + 0.2);
    const estimate = pairedBootstrapDifference({ left, right });
    expect(estimate.value).toBeCloseTo(0.2, 12);
    expect(estimate.lower).toBeCloseTo(0.2, 12);
    expect(estimate.upper).toBeCloseTo(0.2, 12);
  });

  it("is the bootstrap of the per-item differences", () => {
    const left = [1, 0, 1, 1, 0, 1];
    const right = [0, 0, 1, 0, 1, 0];
    const differences = left.map((value, index) => value - (right[index] as number));
    expect(pairedBootstrapDifference({ left, right, seed: 5 })).toEqual(
      bootstrapMean({ values: differences, seed: 5 }),
    );
    expect(mean(differences)).toBeCloseTo(1 / 3, 12);
  });

  it("refuses unmatched items", () => {
    expect(() => pairedBootstrapDifference({ left: [1, 2], right: [1] })).toThrow(/2 left vs 1 right/);
  });
});

describe("winRate", () => {
  it("counts ties as half a win", () => {
    const rate = winRate({ outcomes: ["win", "tie", "loss", "win"] });
    expect(rate.value).toBeCloseTo(0.625, 12);
    expect([rate.wins, rate.ties, rate.losses, rate.count]).toEqual([2, 1, 1, 4]);
    expect(rate.lower).toBeLessThanOrEqual(0.625);
    expect(rate.upper).toBeGreaterThanOrEqual(0.625);
  });

  it("gives 50% with a degenerate interval when every comparison ties", () => {
    const rate = winRate({ outcomes: ["tie", "tie", "tie"] });
    expect([rate.value, rate.lower, rate.upper]).toEqual([0.5, 0.5, 0.5]);
  });
});

describe("bootstrapIntervals", () => {
  it("matches bootstrapMean for the mean and leaves non-finite resamples out of a component", () => {
    const values = [0, 1, 1, 0, 1];
    const mean = bootstrapMean({ values, resamples: 300, seed: 2 });
    const intervals = bootstrapIntervals({
      items: values,
      statistic: (sample) => [sample.reduce((sum, value) => sum + value, 0) / sample.length, Number.NaN],
      resamples: 300,
      seed: 2,
    });
    expect([intervals.lower[0], intervals.upper[0]]).toEqual([mean.lower, mean.upper]);
    expect(intervals.finite).toEqual([300, 0]);
    expect(Number.isNaN(intervals.lower[1])).toBe(true);
  });
});
