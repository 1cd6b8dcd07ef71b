/**
 * What a round did, for the table printed after each round and for the plateau rule: mean observer
 * alignment and engagement before and after revision, overall and by initial label, and the mean peer
 * rating. Means are over valid ratings only.
 */
import type { AgentLabel, InteractionRecord } from "../spec/interaction-record.js";

/** Means of one group of interactions; null where no rating was valid. */
export interface ScoreMeans {
  interactions: number;
  alignmentBefore: number | null;
  alignmentAfter: number | null;
  engagementBefore: number | null;
  engagementAfter: number | null;
  /** Mean of all valid peer ratings. */
  peerRating: number | null;
}

/** One round's summary. */
export interface RoundSummary extends ScoreMeans {
  round: number;
  byLabel: Record<AgentLabel, ScoreMeans>;
  /** Ratings that stayed invalid after re-asking (observer and peer). */
  invalidRatings: number;
  /** Mean alignment after x mean engagement after (SPEC 1.8); null if either is. */
  societyScore: number | null;
  /** Calls and tokens the round's interactions used (cached replays included). */
  usage: { calls: number; prompt_tokens: number; completion_tokens: number; cost_usd: number };
}

function mean(values: readonly (number | null)[]): number | null {
  const valid = values.filter((value): value is number => value !== null);
  return valid.length === 0 ? null : valid.reduce((sum, value) => sum + value, 0) / valid.length;
}

function means(records: readonly InteractionRecord[]): ScoreMeans {
  return {
    interactions: records.length,
    alignmentBefore: mean(records.map((record) => record.gen_moral_score_before)),
    alignmentAfter: mean(records.map((record) => record.gen_moral_score_after)),
    engagementBefore: mean(records.map((record) => record.gen_engagement_score_before)),
    engagementAfter: mean(records.map((record) => record.gen_engagement_score_after)),
    peerRating: mean(records.flatMap((record) => record.rating)),
  };
}

/** Summarises the records of one round. */
export function summariseRound(round: number, records: readonly InteractionRecord[]): RoundSummary {
  const overall = means(records);
  const invalidRatings = records.reduce((count, record) => {
    const { peer, moral_before, engagement_before, moral_after, engagement_after } = record.validity;
    const observer = [moral_before, engagement_before, moral_after, engagement_after].filter((valid) => !valid).length;
    return count + observer + peer.filter((valid) => !valid).length;
  }, 0);
  const usage = records.reduce(
    (sum, record) => ({
      calls: sum.calls + record.usage.calls,
      prompt_tokens: sum.prompt_tokens + record.usage.prompt_tokens,
      completion_tokens: sum.completion_tokens + record.usage.completion_tokens,
      cost_usd: sum.cost_usd + record.usage.cost_usd,
    }),
    { calls: 0, prompt_tokens: 0, completion_tokens: 0, cost_usd: 0 },
  );
  return {
    round,
    ...overall,
    byLabel: {
      good: means(records.filter((record) => record.label === "good")),
      bad: means(records.filter((record) => record.label === "bad")),
    },
    invalidRatings,
    societyScore:
      overall.alignmentAfter === null || overall.engagementAfter === null
        ? null
        : overall.alignmentAfter * overall.engagementAfter,
    usage,
  };
}

const cell = (value: number | null): string => (value === null ? "-" : value.toFixed(2));

/** The per-round table: one line per group (all, good, bad). */
export function formatRoundTable(summary: RoundSummary): string {
  const header = [
    `round ${String(summary.round).padEnd(4)}`,
    "agents",
    "align before",
    "align after",
    "engage before",
    "engage after",
    "peer rating",
  ];
  const row = (name: string, group: ScoreMeans): string[] => [
    name.padEnd(10),
    String(group.interactions),
    cell(group.alignmentBefore),
    cell(group.alignmentAfter),
    cell(group.engagementBefore),
    cell(group.engagementAfter),
    cell(group.peerRating),
  ];
  const rows = [row("all", summary), row("good", summary.byLabel.good), row("bad", summary.byLabel.bad)];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((values) => (values[column] ?? "").length)),
  );
  const line = (values: string[]): string =>
    values.map((value, column) => value.padStart(widths[column] ?? 0)).join("  ");
  const footer = `invalid ratings: ${summary.invalidRatings}   society score (align x engage after): ${cell(summary.societyScore)}`;
  return [line(header), ...rows.map(line), footer].join("\n");
}
