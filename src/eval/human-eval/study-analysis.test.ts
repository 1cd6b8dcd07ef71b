import { describe, expect, it } from "vitest";
import type { StudyAssignment, StudyItem, StudyVote } from "../../store/human-eval-repository.js";
import { analyseStudy, canonicalVote, judgeRatingKey } from "./study-analysis.js";
import type { StudySettings } from "./study-plan.js";

const settings: StudySettings = {
  models: ["x", "y", "z"],
  perItem: 2,
  raters: 3,
  goldFraction: 0.1,
  seed: 1,
  exclusion: { minGoldAccuracy: 0.75, minSecondsPerItem: 3 },
};

function item(itemId: string, firstModel: string, secondModel: string, kind: StudyItem["kind"] = "pair"): StudyItem {
  return {
    itemId,
    kind,
    source: "eval",
    benchmark: "b",
    sourceItemId: itemId,
    question: "q",
    prompt: "q",
    firstModel,
    secondModel,
    firstAnswer: "first",
    secondAnswer: "second",
    flags: itemId === "p1" ? ["gpt"] : [],
  };
}

const items = [
  item("p1", "x", "y"),
  item("p2", "x", "z"),
  item("p3", "y", "z"),
  item("g1", "gold-better", "gold-worse", "gold"),
];

function vote(raterId: string, itemId: string, choice: StudyVote["choice"], seconds = 10): StudyVote {
  return { voteId: 0, raterId, itemId, choice, ratingA: 6, ratingB: 2, reason: "", seconds, createdAt: 0 };
}

describe("canonicalVote", () => {
  it("maps the shown side back to the item's first and second answer", () => {
    expect(canonicalVote(vote("r", "p1", "A"), true)).toMatchObject({
      choice: "second",
      firstRating: 2,
      secondRating: 6,
    });
    expect(canonicalVote(vote("r", "p1", "A"), false)).toMatchObject({
      choice: "first",
      firstRating: 6,
      secondRating: 2,
    });
    expect(canonicalVote(vote("r", "p1", "both-bad"), true).choice).toBe("both-bad");
  });
});

describe("analyseStudy", () => {
  it("excludes a rater failing gold or rushing, and counts only the others", () => {
    const assignments: StudyAssignment[] = ["r1", "r2", "r3"].flatMap((raterId) =>
      items.map((entry, position) => ({
        raterId,
        position,
        itemId: entry.itemId,
        swapped: raterId === "r2",
        shownAt: 0,
      })),
    );
    // r1 and r2 (who saw sides swapped) agree: x > y, x > z, y > z; r3 fails the gold item and rushes.
    const votes = [
      ...["p1", "p2", "p3", "g1"].map((itemId) => vote("r1", itemId, "A")),
      ...["p1", "p2", "p3", "g1"].map((itemId) => ({ ...vote("r2", itemId, "B"), ratingA: 2, ratingB: 6 })),
      ...["p1", "p2", "p3", "g1"].map((itemId) => vote("r3", itemId, "B", 1)),
    ];
    const analysis = analyseStudy({
      settings,
      items,
      assignments,
      votes,
      judgeRatings: {
        judge: "lm",
        ratings: new Map([
          [judgeRatingKey("x", "b", "p1"), 7],
          [judgeRatingKey("y", "b", "p1"), 3],
          [judgeRatingKey("y", "b", "p3"), 2],
          [judgeRatingKey("z", "b", "p3"), 5],
        ]),
      },
      resamples: 200,
    });
    const r3 = analysis.raters.find((rater) => rater.raterId === "r3");
    expect(r3?.excluded).toBe(true);
    expect(r3?.exclusionReasons).toEqual(["gold accuracy 0/1 below 0.75", "median 1.0 s per item below 3 s"]);
    expect(analysis.raters.filter((rater) => rater.excluded)).toHaveLength(1);
    expect(analysis.goldAccuracy).toBe(1);
    expect(analysis.outcomes.map((entry) => entry.outcome)).toEqual(["win", "win", "win"]);
    expect(analysis.winRates.map((rate) => [rate.model, rate.opponent, rate.winRate.value])).toEqual([
      ["x", "y", 1],
      ["x", "z", 1],
      ["y", "z", 1],
    ]);
    // Two included raters agree on every item and use only "first": kappa and alpha have no variation to
    // measure (a single category), so they are NaN rather than a made-up 1.
    expect(Number.isNaN(analysis.agreement.fleissKappa.value)).toBe(true);
    // Ratings: first answers 6, 6 and second answers 2, 2 on three items: perfect ordinal agreement.
    expect(analysis.agreement.ratingAlpha.value).toBeCloseTo(1, 12);
    expect(analysis.bradleyTerry?.scores.map((score) => score.model)).toEqual(["x", "y", "z"]);
    // x never lost and z never won: no finite Bradley-Terry fit, and the analysis says so.
    expect(analysis.bradleyTerry?.converged).toBe(false);
    // The judge agrees on p1 (7 > 3) and disagrees on p3 (2 < 5).
    expect(analysis.judgeAgreement).toMatchObject({ judge: "lm", items: 2, agreementRate: 0.5 });
    expect(analysis.flaggedItems).toEqual([{ itemId: "p1", flags: ["gpt"] }]);
  });
});
