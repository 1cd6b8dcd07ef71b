import { describe, expect, it } from "vitest";
import { fileSha256, readFixture } from "../../engine/testing/fixtures.js";
import { dpoObjective, type ReferencedResponse } from "./dpo-objective.js";
import type { ObjectiveValue } from "./rated-response.js";
import { stableAlignmentObjective } from "./stable-alignment-objective.js";

/** float64 on both sides: only summation order may differ. */
const TOLERANCE = 1e-9;
const script = "scripts/make-objective-fixtures.py";
const directory = "src/train/objectives";

interface FixtureCase<Settings> {
  name: string;
  ratings: number[];
  meanNlls: number[];
  tokenCounts?: number[];
  referenceLogProbabilities?: number[];
  settings: Settings;
  loss: number;
  terms: Record<string, number>;
  gradients: number[];
}

interface StableAlignmentFixtureSettings {
  margin: number;
  ratio: number;
  ratingScale: number;
  maxFlow: boolean;
}

interface DpoFixtureSettings {
  beta: number;
  labelSmoothing: number;
  pairs: "best-worst" | "all";
}

/** The largest absolute difference, element by element (Infinity on a length mismatch or NaN). */
function largestDifference(actual: readonly number[], expected: readonly number[]): number {
  if (actual.length !== expected.length) return Number.POSITIVE_INFINITY;
  let worst = 0;
  for (const [index, value] of actual.entries()) {
    const difference = Math.abs(value - (expected[index] as number));
    worst = Number.isNaN(difference) ? Number.POSITIVE_INFINITY : Math.max(worst, difference);
  }
  return worst;
}

function expectMatches(actual: ObjectiveValue, expected: FixtureCase<unknown>): void {
  expect(Math.abs(actual.loss - expected.loss), "loss").toBeLessThanOrEqual(TOLERANCE);
  expect(largestDifference(actual.gradients, expected.gradients), "dLoss/dMeanNll").toBeLessThanOrEqual(TOLERANCE);
  expect(Object.keys(actual.terms).sort()).toEqual(Object.keys(expected.terms).sort());
  for (const [name, term] of Object.entries(expected.terms)) {
    expect(Math.abs((actual.terms[name] as number) - term), name).toBeLessThanOrEqual(TOLERANCE);
  }
}

const stableAlignment = readFixture<{ cases: FixtureCase<StableAlignmentFixtureSettings>[] }>(
  directory,
  "stable-alignment-objective",
);
const dpo = readFixture<{ cases: FixtureCase<DpoFixtureSettings>[] }>(directory, "dpo-objective");

describe("objective fixtures from PyTorch autograd (float64)", () => {
  it.each([stableAlignment, dpo])("were written by the current fixture script, with PyTorch", ({ generator }) => {
    expect(generator.script).toBe(script);
    expect(generator.sha256, `regenerate: /usr/bin/python3 ${script}`).toBe(fileSha256(script));
    expect(generator.torch).toMatch(/^\d+\.\d+/);
  });

  it("cover the spec example, ties, both flows, one response, and random cases", () => {
    expect(stableAlignment.cases.length).toBeGreaterThanOrEqual(10);
    expect(stableAlignment.cases[0]?.loss).toBeCloseTo(1.65, 12);
    expect(dpo.cases.length).toBeGreaterThanOrEqual(10);
  });

  it.each(stableAlignment.cases)("stable-alignment: $name", (fixture) => {
    const responses = fixture.ratings.map((rating, index) => ({
      rating,
      meanNll: fixture.meanNlls[index] as number,
      tokenCount: 1,
    }));
    expectMatches(stableAlignmentObjective({ responses, ...fixture.settings }), fixture);
  });

  it.each(dpo.cases)("dpo: $name", (fixture) => {
    const responses: ReferencedResponse[] = fixture.ratings.map((rating, index) => ({
      rating,
      meanNll: fixture.meanNlls[index] as number,
      tokenCount: fixture.tokenCounts?.[index] as number,
      referenceLogProbability: fixture.referenceLogProbabilities?.[index] as number,
    }));
    const value = dpoObjective({ responses, ...fixture.settings });
    if ("skip" in value) throw new Error(`fixture case ${fixture.name} was skipped: ${value.skip}`);
    expectMatches(value, fixture);
  });
});
