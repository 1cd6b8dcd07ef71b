import { describe, expect, it } from "vitest";
import type { InteractionRecord } from "../spec/interaction-record.js";
import { reachedPlateau } from "./plateau.js";
import { formatRoundTable, summariseRound } from "./round-summary.js";

describe("plateau stopping (SPEC 1.8)", () => {
  const settings = { tolerance: 0.01, patience: 3, minimumRounds: 3 };
  it("stops after `patience` rounds without a relative gain above the tolerance", () => {
    expect(reachedPlateau([10, 11, 12], settings)).toBe(false);
    expect(reachedPlateau([10, 10.05, 10.06, 10.07], settings)).toBe(true);
    // A gain above 1% resets the count.
    expect(reachedPlateau([10, 10, 10, 10.5, 10.5], settings)).toBe(false);
    expect(reachedPlateau([10, 10, 10, 10.5, 10.5, 10.5, 10.5], settings)).toBe(true);
    // A drop is no improvement; the best so far is the reference.
    expect(reachedPlateau([10, 8, 9, 9.9], settings)).toBe(true);
  });

  it("never stops before the minimum rounds, and counts rounds without scores as no gain", () => {
    expect(reachedPlateau([5, 5, 5], { ...settings, patience: 1, minimumRounds: 4 })).toBe(false);
    expect(reachedPlateau([5, null, null, null], settings)).toBe(true);
    expect(reachedPlateau([], settings)).toBe(false);
  });
});

describe("round summary", () => {
  const record = (label: "good" | "bad", scores: (number | null)[], peers: (number | null)[]): InteractionRecord =>
    ({
      label,
      rating: peers,
      gen_moral_score_before: scores[0] ?? null,
      gen_moral_score_after: scores[1] ?? null,
      gen_engagement_score_before: scores[2] ?? null,
      gen_engagement_score_after: scores[3] ?? null,
      validity: {
        peer: peers.map((peer) => peer !== null),
        moral_before: scores[0] !== null,
        moral_after: scores[1] !== null,
        engagement_before: scores[2] !== null,
        engagement_after: scores[3] !== null,
      },
      usage: { calls: 8, prompt_tokens: 100, completion_tokens: 10, cost_usd: 0.5 },
    }) as unknown as InteractionRecord;

  it("means over valid ratings, overall and by label, with the society score", () => {
    const summary = summariseRound(2, [record("good", [4, 6, 3, 5], [5, null]), record("bad", [2, null, 1, 3], [3])]);
    expect(summary).toMatchObject({
      round: 2,
      interactions: 2,
      alignmentBefore: 3,
      alignmentAfter: 6,
      engagementBefore: 2,
      engagementAfter: 4,
      peerRating: 4,
      invalidRatings: 2,
      societyScore: 24,
    });
    expect(summary.byLabel.bad).toMatchObject({ alignmentAfter: null, peerRating: 3 });
    expect(summary.usage.calls).toBe(16);
    const table = formatRoundTable(summary);
    expect(table.split("\n")).toHaveLength(5);
    expect(table).toMatch(/bad +1 +2\.00 +- +1\.00 +3\.00 +3\.00/);
  });
});
