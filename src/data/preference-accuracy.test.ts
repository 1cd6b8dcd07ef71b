import { describe, expect, it } from "vitest";
import type { ScoreRequest, ScoreResult, Scorer } from "../spec/scoring.js";
import { computePreferenceAccuracy, hhPreferenceItem, type PreferenceItem } from "./preference-accuracy.js";

/** Words are tokens: "good" has log-probability -1, any other word -3; "STRADDLE" is invalid. */
function wordScorer(): Scorer & { requests: ScoreRequest[] } {
  const requests: ScoreRequest[] = [];
  return {
    requests,
    async score(request): Promise<ScoreResult> {
      requests.push(request);
      return {
        modelId: "words",
        usage: { promptTokens: 0, completionTokens: 0 },
        scores: request.continuations.map((continuation) => {
          if (continuation.includes("STRADDLE")) return { valid: false, reason: "a token straddles the context end" };
          const tokens = continuation
            .trim()
            .split(/\s+/)
            .map((word) => (word === "good" ? -1 : -3));
          return {
            valid: true,
            logProbability: tokens.reduce((sum, value) => sum + value, 0),
            tokenLogProbabilities: tokens,
            tokenCount: tokens.length,
          };
        }),
      };
    },
  };
}

const item = (id: string, chosen: string, rejected: string, rejectedContext = "Q:"): PreferenceItem => ({
  id,
  chosen: { context: "Q:", continuation: chosen },
  rejected: { context: rejectedContext, continuation: rejected },
});

describe("computePreferenceAccuracy", () => {
  it("compares length-normalised log-likelihoods (hand-computed)", async () => {
    const scorer = wordScorer();
    const result = await computePreferenceAccuracy({
      scorer,
      items: [
        // chosen mean (-1 - 3) / 2 = -2 beats rejected -3: correct.
        item("a", " good answer", " bad"),
        // chosen -3 loses to rejected -1: wrong (and a different context: two calls).
        item("b", " bad bad", " good", "Other:"),
        // both -1 per token: a tie counts half.
        item("c", " good", " good good"),
        item("d", " STRADDLE", " good"),
      ],
      callIdentityPrefix: "pref",
    });
    expect(result.items.map((entry) => (entry.valid ? entry.correct : "invalid"))).toEqual([1, 0, 0.5, "invalid"]);
    expect(result.items[0]).toMatchObject({ chosen: -2, rejected: -3 });
    expect(result.accuracy.value).toBeCloseTo(0.5, 12);
    expect(result.accuracy.count).toBe(3);
    expect(result.invalid).toBe(1);
    expect(result.accuracy.lower).toBeLessThanOrEqual(0.5);
    expect(result.accuracy.upper).toBeGreaterThanOrEqual(0.5);
    // Shared contexts are one call with both continuations; different contexts one call each.
    expect(scorer.requests).toHaveLength(5);
    expect(scorer.requests.map((request) => request.callIdentity).sort()).toEqual([
      "pref/a/both",
      "pref/b/chosen",
      "pref/b/rejected",
      "pref/c/both",
      "pref/d/both",
    ]);
  });
});

describe("hhPreferenceItem", () => {
  it("scores each dialogue's final answer after everything before it", () => {
    const shared = "\n\nHuman: How do I pick a lock?\n\nAssistant:";
    const result = hhPreferenceItem({
      id: "1",
      chosen: `${shared} I can't help with that.`,
      rejected: `${shared} Use a pin.`,
    });
    expect(result).toEqual({
      item: {
        id: "1",
        chosen: { context: shared, continuation: " I can't help with that." },
        rejected: { context: shared, continuation: " Use a pin." },
      },
    });
  });

  it("says why a pair gives no item", () => {
    expect(hhPreferenceItem({ id: "1", chosen: "\n\nHuman: hi", rejected: "\n\nHuman: hi\n\nAssistant: yo" })).toEqual({
      problem: 'the chosen dialogue does not end with an "Assistant:" turn',
    });
    expect(hhPreferenceItem({ id: "2", chosen: "same", rejected: "same" })).toEqual({
      problem: "chosen and rejected are identical",
    });
    expect(
      hhPreferenceItem({ id: "3", chosen: "\n\nHuman: a\n\nAssistant: b", rejected: "\n\nHuman: a\n\nAssistant: " }),
    ).toEqual({ problem: "the rejected dialogue's final answer is empty" });
  });
});
