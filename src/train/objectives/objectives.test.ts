import { describe, expect, it } from "vitest";
import { dpoObjective, preferencePairs, type ReferencedResponse } from "./dpo-objective.js";
import type { ObjectiveValue, RatedResponse } from "./rated-response.js";
import { rrhfObjective } from "./rrhf-objective.js";
import { sftObjective } from "./sft-objective.js";
import { stableAlignmentObjective } from "./stable-alignment-objective.js";

const rated = (ratings: number[], meanNlls: number[], tokenCounts = ratings.map(() => 3)): RatedResponse[] =>
  ratings.map((rating, index) => ({
    rating,
    meanNll: meanNlls[index] as number,
    tokenCount: tokenCounts[index] as number,
  }));

function value(result: ObjectiveValue | { skip: string }): ObjectiveValue {
  if ("skip" in result) throw new Error(`skipped: ${result.skip}`);
  return result;
}

/** Central finite differences of `loss` in each response's mean NLL. */
function numericGradients(responses: RatedResponse[], loss: (responses: RatedResponse[]) => number): number[] {
  const step = 1e-6;
  return responses.map((_, index) => {
    const shifted = (delta: number) =>
      loss(
        responses.map((response, other) =>
          other === index ? { ...response, meanNll: response.meanNll + delta } : response,
        ),
      );
    return (shifted(step) - shifted(-step)) / (2 * step);
  });
}

describe("stable-alignment objective (SPEC 3)", () => {
  it("takes gaps against the best by rating: scores [2,7,5], NLL [1.0,1.2,1.5], lambda 1, M 1, R 7 -> 1.650", () => {
    const result = stableAlignmentObjective({
      responses: rated([2, 7, 5], [1.0, 1.2, 1.5]),
      ratio: 1,
      margin: 1,
      ratingScale: 7,
    });
    // d = [1.2 - 1.0 + 5/7, 1.2 - 1.5 + 2/7] = [0.9143, -0.0143]; mean 0.45. The reference's indexing gives 1.507.
    expect(result.loss).toBeCloseTo(1.65, 10);
    expect(result.loss).not.toBeCloseTo(1.507, 2);
    expect(result.terms).toEqual({ sft: 1.2, penalty: expect.closeTo(0.45, 10) });
    expect(result.gradients).toEqual([-0.5, 2, -0.5]);
  });

  it("breaks rating ties by list position (first best)", () => {
    const result = stableAlignmentObjective({ responses: rated([5, 5, 3], [2, 1, 3]) });
    // best = 0; d = [2 - 1 + 0, 2 - 3 + 2/7]; mean 1/7; L = 2 + 0.2/7.
    expect(result.loss).toBeCloseTo(2 + 0.2 / 7, 10);
    expect(result.gradients).toEqual([1.2, -0.1, -0.1]);
  });

  it("max flow penalises the largest difference only", () => {
    const result = stableAlignmentObjective({ responses: rated([2, 7, 5], [1.0, 1.2, 1.5]), ratio: 1, maxFlow: true });
    expect(result.loss).toBeCloseTo(1.2 + 0.2 + 5 / 7, 10);
    expect(result.gradients).toEqual([-1, 2, 0]);
  });

  it("trains the SFT term alone for one response or a negative aggregate", () => {
    expect(stableAlignmentObjective({ responses: rated([4], [2.5]) })).toEqual({
      loss: 2.5,
      gradients: [1],
      terms: { sft: 2.5, penalty: 0 },
    });
    const clear = stableAlignmentObjective({ responses: rated([7, 1], [0.5, 3]) });
    expect(clear.loss).toBe(0.5);
    expect(clear.gradients).toEqual([1, 0]);
  });

  it("has the gradients finite differences give, under both flows", () => {
    const responses = rated([3, 6, 1, 6], [1.3, 1.1, 0.4, 2.0]);
    for (const maxFlow of [false, true]) {
      const loss = (input: RatedResponse[]) => stableAlignmentObjective({ responses: input, maxFlow, margin: 2 }).loss;
      const analytic = stableAlignmentObjective({ responses, maxFlow, margin: 2 }).gradients;
      const numeric = numericGradients(responses, loss);
      for (const [index, gradient] of analytic.entries()) expect(gradient).toBeCloseTo(numeric[index] as number, 6);
    }
  });
});

describe("sft objective", () => {
  it("is the best response's mean NLL", () => {
    expect(sftObjective({ responses: rated([2, 7, 7], [1, 2, 3]) })).toEqual({
      loss: 2,
      gradients: [0, 1, 0],
      terms: { sft: 2 },
    });
  });
});

describe("dpo objective", () => {
  const responses: ReferencedResponse[] = [
    { rating: 7, meanNll: 1.0, tokenCount: 4, referenceLogProbability: -5 },
    { rating: 1, meanNll: 2.0, tokenCount: 2, referenceLogProbability: -3 },
  ];

  it("matches the hand-computed sigmoid loss and gradients", () => {
    // z = 0.1 * ((-4 + 5) - (-4 + 3)) = 0.2; loss = log(1 + e^-0.2); dL/dz = -sigmoid(-0.2).
    const result = value(dpoObjective({ responses, beta: 0.1 }));
    expect(result.loss).toBeCloseTo(Math.log1p(Math.exp(-0.2)), 12);
    const dLossDz = -1 / (1 + Math.exp(0.2));
    expect(result.gradients[0]).toBeCloseTo(dLossDz * 0.1 * -4, 12);
    expect(result.gradients[1]).toBeCloseTo(dLossDz * -0.1 * -2, 12);
    expect(result.terms).toEqual({ dpo: result.loss, rewardMargin: expect.closeTo(0.2, 12), rewardAccuracy: 1 });
  });

  it("applies label smoothing", () => {
    const result = value(dpoObjective({ responses, beta: 0.1, labelSmoothing: 0.1 }));
    expect(result.loss).toBeCloseTo(0.9 * Math.log1p(Math.exp(-0.2)) + 0.1 * Math.log1p(Math.exp(0.2)), 12);
  });

  it("skips single responses and all-tied prompts, and forms best-worst or all pairs", () => {
    expect(dpoObjective({ responses: responses.slice(0, 1) })).toEqual({ skip: "single response" });
    expect(dpoObjective({ responses: responses.map((response) => ({ ...response, rating: 4 })) })).toEqual({
      skip: "ratings all tie",
    });
    const three = rated([5, 7, 1], [1, 1, 1]);
    expect(preferencePairs({ responses: three, pairs: "best-worst" })).toEqual([[1, 2]]);
    expect(preferencePairs({ responses: three, pairs: "all" })).toEqual([
      [1, 0],
      [0, 2],
      [1, 2],
    ]);
  });

  it("has the gradients finite differences give over all pairs with smoothing", () => {
    const input: ReferencedResponse[] = [
      { rating: 3, meanNll: 1.4, tokenCount: 5, referenceLogProbability: -6 },
      { rating: 6, meanNll: 0.9, tokenCount: 3, referenceLogProbability: -2.5 },
      { rating: 1, meanNll: 2.2, tokenCount: 4, referenceLogProbability: -9 },
    ];
    const settings = { beta: 0.5, labelSmoothing: 0.2, pairs: "all" as const };
    const loss = (changed: RatedResponse[]) =>
      value(
        dpoObjective({
          responses: changed.map((response, index) => ({ ...(input[index] as ReferencedResponse), ...response })),
          ...settings,
        }),
      ).loss;
    const numeric = numericGradients(input, loss);
    const analytic = value(dpoObjective({ responses: input, ...settings })).gradients;
    for (const [index, gradient] of analytic.entries()) expect(gradient).toBeCloseTo(numeric[index] as number, 6);
  });
});

describe("rrhf objective", () => {
  it("sums ranking violations on length-normalised likelihoods and adds SFT on the best", () => {
    // p = [-1, -0.5, -2]; pairs (0>1): -0.5 > -1 violates by 0.5; (2>1): violates by 1.5; (0>2) fine.
    const result = value(rrhfObjective({ responses: rated([7, 3, 5], [1.0, 0.5, 2.0]) }));
    expect(result.loss).toBeCloseTo(3, 12);
    expect(result.terms).toEqual({ sft: 1, ranking: 2 });
    expect(result.gradients).toEqual([2, -2, 1]);
    expect(rrhfObjective({ responses: rated([5], [1]) })).toEqual({ skip: "single response" });
  });
});
