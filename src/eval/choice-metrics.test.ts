import { describe, expect, it } from "vitest";
import type { ContinuationScore, ScoreRequest, ScoreResult, Scorer } from "../spec/scoring.js";
import { type BenchmarkItem, type ChoiceItem, characterCount } from "./benchmark-item.js";
import { benchmarkDefinition } from "./benchmarks.js";
import { argmax, choiceItemValues, groupAccuracy, trueMass } from "./choice-metrics.js";
import { scoreBenchmark } from "./score-benchmark.js";

const item = (overrides: Partial<ChoiceItem>): ChoiceItem => ({
  id: "x",
  subset: "",
  context: "c",
  choices: ["a", "b", "c"],
  gold: 0,
  ...overrides,
});

describe("choice metrics (hand-computed)", () => {
  it("argmax gives the first of equal scores, as the harness does", () => {
    expect(argmax([-1, -1])).toBe(0);
    expect(argmax([-3, -1, -1])).toBe(1);
  });

  it("MC1 / acc: correct only when the gold choice scores highest; a tie goes to the first choice", () => {
    expect(choiceItemValues({ item: item({}), logProbabilities: [-1, -2, -0.5] }).acc).toBe(0);
    expect(choiceItemValues({ item: item({}), logProbabilities: [-0.5, -2, -1] }).acc).toBe(1);
    expect(choiceItemValues({ item: item({ choices: ["a", "b"] }), logProbabilities: [-1, -1] }).acc).toBe(1);
    expect(choiceItemValues({ item: item({ choices: ["a", "b"], gold: 1 }), logProbabilities: [-1, -1] }).acc).toBe(0);
  });

  it("acc_norm divides by the choice's characters (code points, as Python's len)", () => {
    // "ab": -3 / 2 = -1.5; "abcdef": -5 / 6 = -0.833: acc picks 0, acc_norm picks 1.
    const values = choiceItemValues({ item: item({ choices: ["ab", "abcdef"], gold: 1 }), logProbabilities: [-3, -5] });
    expect(values).toEqual({ acc: 0, accNorm: 1, mc2: undefined });
    expect(characterCount("🙂🙂")).toBe(2);
    expect(characterCount("café")).toBe(4);
  });

  it("MC2 is the normalised probability mass on the true answers", () => {
    expect(trueMass([Math.log(0.2), Math.log(0.3), Math.log(0.5)], [1, 0, 1])).toBeCloseTo(0.7, 12);
    // Unnormalised: exp = 1, 1, 2 -> true mass (1 + 1) / 4.
    expect(trueMass([0, 0, Math.log(2)], [1, 1, 0])).toBeCloseTo(0.5, 12);
    // Very negative scores do not underflow to 0/0.
    expect(trueMass([-2000, -2000 + Math.log(3)], [0, 1])).toBeCloseTo(0.75, 12);
    const values = choiceItemValues({
      item: item({ labels: [1, 0, 1] }),
      logProbabilities: [Math.log(0.2), Math.log(0.3), Math.log(0.5)],
    });
    expect(values.mc2).toBeCloseTo(0.7, 12);
  });

  it("group accuracy counts a group only when all of it is right, and only complete groups", () => {
    const items = Array.from({ length: 11 }, (_, index) => ({ group: `g${Math.floor(index / 4)}` }));
    const correct = [1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1];
    expect(groupAccuracy({ items, correct, groupSize: 4 })).toEqual({ groups: ["g0", "g1"], values: [1, 0] });
  });
});

/** A scorer answering from a table keyed by context and continuation; a missing key is invalid. */
function tableScorer(table: Record<string, number>): Scorer & { calls: ScoreRequest[] } {
  const calls: ScoreRequest[] = [];
  return {
    calls,
    async score(request): Promise<ScoreResult> {
      calls.push(request);
      const scores = request.continuations.map((continuation): ContinuationScore => {
        const value = table[`${request.context}|${continuation}`];
        return value === undefined
          ? { valid: false, reason: "a token straddles the end of the context" }
          : { valid: true, logProbability: value, tokenLogProbabilities: [value], tokenCount: 1 };
      });
      return { scores, usage: { promptTokens: 1, completionTokens: 0 }, modelId: "table" };
    },
  };
}

describe("scoreBenchmark", () => {
  it("ETHICS justice: per-item acc and group accuracy over complete groups; an invalid item is left out", async () => {
    const items: BenchmarkItem[] = Array.from({ length: 8 }, (_, index) => ({
      kind: "choice",
      item: {
        id: `justice/${index + 2}`,
        subset: "justice",
        context: `s${index}`,
        choices: ["unreasonable", "reasonable"],
        gold: 1,
        group: `justice/group-${Math.floor(index / 4)}`,
      },
    }));
    const table: Record<string, number> = {};
    for (let index = 0; index < 8; index++) {
      // Item 5 is wrong; item 7 has an invalid score.
      table[`s${index}| unreasonable`] = index === 5 ? -0.1 : -2;
      if (index !== 7) table[`s${index}| reasonable`] = -1;
    }
    const result = await scoreBenchmark({
      definition: benchmarkDefinition("ethics"),
      items,
      scorer: tableScorer(table),
      resamples: 200,
    });
    expect(result.invalidItemIds).toEqual(["justice/9"]);
    expect(result.invalidReasons).toEqual(["a token straddles the end of the context"]);
    const acc = result.metrics.find((metric) => metric.metric === "justice/acc");
    expect(acc?.estimate.value).toBeCloseTo(6 / 7, 12);
    expect(acc?.unitIds).toHaveLength(7);
    const group = result.metrics.find((metric) => metric.metric === "justice/group_acc");
    // Group 0 all right; group 1 is incomplete once item 7 is invalid, so it is left out.
    expect(group?.unitIds).toEqual(["justice/group-0"]);
    expect(group?.estimate.value).toBe(1);
    expect(acc?.estimate.lower).toBeLessThanOrEqual(acc?.estimate.value as number);
    expect(acc?.estimate.upper).toBeGreaterThanOrEqual(acc?.estimate.value as number);
  });

  it("TruthfulQA reports mc1 and mc2 means; moral-stories acc and acc_norm", async () => {
    const truthful: BenchmarkItem[] = [
      { kind: "choice", item: { id: "mc1/0", subset: "mc1", context: "q", choices: ["t", "f"], gold: 0 } },
      {
        kind: "choice",
        item: { id: "mc2/0", subset: "mc2", context: "q", choices: ["t", "t2", "f"], gold: 0, labels: [1, 1, 0] },
      },
    ];
    const table = { "q| t": Math.log(0.2), "q| t2": Math.log(0.2), "q| f": Math.log(0.6) };
    const result = await scoreBenchmark({
      definition: benchmarkDefinition("truthfulqa"),
      items: truthful,
      scorer: tableScorer(table),
      resamples: 100,
    });
    expect(result.metrics.map((metric) => [metric.metric, metric.estimate.value])).toEqual([
      ["mc1", 0],
      ["mc2", expect.closeTo(0.4, 12)],
    ]);
    const stories: BenchmarkItem[] = [
      { kind: "choice", item: { id: "s", subset: "", context: "n", choices: ["ab", "abcdef"], gold: 1 } },
    ];
    const storyResult = await scoreBenchmark({
      definition: benchmarkDefinition("moral-stories"),
      items: stories,
      scorer: tableScorer({ "n| ab": -3, "n| abcdef": -5 }),
      resamples: 100,
    });
    expect(storyResult.metrics.map((metric) => [metric.metric, metric.estimate.value])).toEqual([
      ["acc", 0],
      ["acc_norm", 1],
    ]);
  });

  it("hh-* call the preference-accuracy function (per-token means, chosen vs rejected)", async () => {
    const items: BenchmarkItem[] = [
      {
        kind: "preference",
        item: {
          id: "line-1",
          chosen: { context: "d", continuation: " yes" },
          rejected: { context: "d", continuation: " no" },
        },
      },
      {
        kind: "preference",
        item: {
          id: "line-2",
          chosen: { context: "e", continuation: " yes" },
          rejected: { context: "e", continuation: " no" },
        },
      },
    ];
    const scorer = tableScorer({ "d| yes": -1, "d| no": -2, "e| yes": -3, "e| no": -2 });
    const result = await scoreBenchmark({
      definition: benchmarkDefinition("hh-harmless"),
      items,
      scorer,
      resamples: 100,
    });
    expect(result.metrics[0]?.metric).toBe("accuracy");
    expect(result.metrics[0]?.values).toEqual([1, 0]);
    expect(scorer.calls[0]?.callIdentity).toBe("eval/hh-harmless/line-1/both");
  });
});
