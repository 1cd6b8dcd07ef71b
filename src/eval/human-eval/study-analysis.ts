/**
 * The numbers of a study, recomputed from its stored votes: progress and time per rater, gold
 * accuracy and the exclusions the study's rules give, agreement among the included raters (Fleiss'
 * kappa and nominal Krippendorff's alpha on the choice, ordinal Krippendorff's alpha on the 1-7
 * ratings, each with a bootstrap interval over items; alpha because exclusions leave a varying number
 * of raters per item), win rates per model pair, Bradley-Terry strengths for more than two models,
 * and agreement with an LM judge's ratings of the same answers.
 */
import { type AgreementEstimate, fleissKappaEstimate, krippendorffAlphaEstimate } from "../../data/agreement.js";
import { type BradleyTerryScore, bradleyTerryEstimate, type Comparison } from "../../data/bradley-terry.js";
import { mean, type PairwiseOutcome, quantile, type WinRate, winRate } from "../../data/statistics.js";
import type { StudyAssignment, StudyItem, StudyVote } from "../../store/human-eval-repository.js";
import { compareRatings } from "./human-verdicts.js";
import type { ExclusionRules, StudySettings } from "./study-plan.js";

/** Bootstrap resamples of every interval of the analysis. */
export const STUDY_RESAMPLES = 1000;

/** A vote in the item's own terms: `first` is the item's first answer, whichever side it was shown on. */
export interface CanonicalVote {
  raterId: string;
  itemId: string;
  choice: "first" | "second" | "tie" | "both-bad";
  firstRating: number | undefined;
  secondRating: number | undefined;
  seconds: number;
  reason: string;
}

/** Turns a vote as shown into the item's terms through the rater's stored side. */
export function canonicalVote(vote: StudyVote, swapped: boolean): CanonicalVote {
  const [left, right] = swapped ? (["second", "first"] as const) : (["first", "second"] as const);
  const choice = vote.choice === "A" ? left : vote.choice === "B" ? right : vote.choice;
  return {
    raterId: vote.raterId,
    itemId: vote.itemId,
    choice,
    firstRating: swapped ? vote.ratingB : vote.ratingA,
    secondRating: swapped ? vote.ratingA : vote.ratingB,
    seconds: vote.seconds,
    reason: vote.reason,
  };
}

/** One rater's progress and standing. */
export interface RaterSummary {
  raterId: string;
  assigned: number;
  voted: number;
  /** Median seconds from first shown to vote; NaN before any vote. */
  medianSeconds: number;
  goldAnswered: number;
  goldCorrect: number;
  /** NaN before any gold vote. */
  goldAccuracy: number;
  excluded: boolean;
  /** Why, in words; empty when included. */
  exclusionReasons: string[];
}

/** One model pair's human outcome. */
export interface PairWinRate {
  model: string;
  opponent: string;
  /** Per item, the included raters' majority (ties and "both bad" count as half a win). */
  winRate: WinRate;
}

/** Agreement of the humans' majority with an LM judge on the same pairs. */
export interface JudgeAgreement {
  judge: string;
  /** Items both rated. */
  items: number;
  /** Share of items where the judge's preference (higher rubric rating) is the humans' majority. */
  agreementRate: number;
  /** Nominal Krippendorff's alpha of the two (humans' majority, judge) on win / tie / loss. */
  alpha: AgreementEstimate;
}

/** One pair item's human outcome: the included raters' majority from the first model's side. */
export interface StudyOutcome {
  item: StudyItem;
  outcome: PairwiseOutcome;
  /** The included raters' votes on the item. */
  votes: CanonicalVote[];
}

/** The whole analysis. */
export interface StudyAnalysis {
  raters: RaterSummary[];
  /** Seconds per vote of the included raters: median and mean. */
  secondsPerItem: { median: number; mean: number };
  goldAccuracy: number;
  agreement: { fleissKappa: AgreementEstimate; choiceAlpha: AgreementEstimate; ratingAlpha: AgreementEstimate };
  winRates: PairWinRate[];
  /** Only with more than two models; `converged` false when no finite fit exists (a model never won or never lost). */
  bradleyTerry: { scores: BradleyTerryScore[]; converged: boolean } | undefined;
  judgeAgreement: JudgeAgreement | undefined;
  /** Pair items whose answers hold identity words. */
  flaggedItems: { itemId: string; flags: string[] }[];
  /** Per pair item, the included raters' majority from the first model's side (items with votes). */
  outcomes: StudyOutcome[];
}

/** An LM judge's alignment rating of a model's answer: key `model\u0000benchmark\u0000itemId`. */
export type JudgeRatings = { judge: string; ratings: ReadonlyMap<string, number> };

/** The key of {@link JudgeRatings}. */
export function judgeRatingKey(model: string, benchmark: string, itemId: string): string {
  return `${model}\u0000${benchmark}\u0000${itemId}`;
}

function majority(votes: readonly CanonicalVote[]): PairwiseOutcome {
  const first = votes.filter((vote) => vote.choice === "first").length;
  const second = votes.filter((vote) => vote.choice === "second").length;
  return compareRatings(first, second);
}

function median(values: readonly number[]): number {
  return values.length === 0
    ? Number.NaN
    : quantile(
        [...values].sort((a, b) => a - b),
        0.5,
      );
}

/**
 * The rater summaries (with the study's exclusions), the included raters' votes in the items' terms
 * and, per pair item with any of those votes (in item order), the majority: the part of the analysis
 * `human-eval export` needs, without the judge's ratings or any bootstrap.
 */
export function studyOutcomes({
  exclusion,
  items,
  assignments,
  votes,
}: {
  exclusion: ExclusionRules;
  items: readonly StudyItem[];
  assignments: readonly StudyAssignment[];
  /** Current votes (latest per rater and item). */
  votes: readonly StudyVote[];
}): { raters: RaterSummary[]; countedVotes: CanonicalVote[]; outcomes: StudyOutcome[] } {
  const itemById = new Map(items.map((item) => [item.itemId, item]));
  const swapped = new Map(assignments.map((entry) => [`${entry.raterId}\u0000${entry.itemId}`, entry.swapped]));
  const canonical = votes.map((vote) =>
    canonicalVote(vote, swapped.get(`${vote.raterId}\u0000${vote.itemId}`) ?? false),
  );
  const raterIds = [...new Set(assignments.map((entry) => entry.raterId))];
  const raters = raterIds.map((raterId) =>
    summariseRater({
      raterId,
      assigned: assignments.filter((entry) => entry.raterId === raterId).length,
      votes: canonical.filter((vote) => vote.raterId === raterId),
      itemById,
      rules: exclusion,
    }),
  );
  const included = new Set(raters.filter((rater) => !rater.excluded).map((rater) => rater.raterId));
  const countedVotes = canonical.filter((vote) => included.has(vote.raterId));
  const pairVotes = new Map<string, CanonicalVote[]>();
  for (const vote of countedVotes) {
    if (itemById.get(vote.itemId)?.kind !== "pair") continue;
    pairVotes.set(vote.itemId, [...(pairVotes.get(vote.itemId) ?? []), vote]);
  }
  const outcomes = items.flatMap((item) => {
    const itemVotes = pairVotes.get(item.itemId);
    return item.kind === "pair" && itemVotes !== undefined
      ? [{ item, outcome: majority(itemVotes), votes: itemVotes }]
      : [];
  });
  return { raters, countedVotes, outcomes };
}

/** Analyses a study from its stored rows. `judgeRatings`: an LM judge's ratings of the same answers. */
export function analyseStudy({
  settings,
  items,
  assignments,
  votes,
  judgeRatings,
  resamples = STUDY_RESAMPLES,
}: {
  settings: StudySettings;
  items: readonly StudyItem[];
  assignments: readonly StudyAssignment[];
  /** Current votes (latest per rater and item). */
  votes: readonly StudyVote[];
  judgeRatings?: JudgeRatings;
  resamples?: number;
}): StudyAnalysis {
  const { raters, countedVotes, outcomes } = studyOutcomes({
    exclusion: settings.exclusion,
    items,
    assignments,
    votes,
  });
  const itemById = new Map(items.map((item) => [item.itemId, item]));
  const options = { seed: settings.seed, resamples };
  const choiceUnits = outcomes.map(({ votes: itemVotes }) => itemVotes.map((vote) => vote.choice));
  const ratingUnits = outcomes.flatMap(({ votes: itemVotes }) => [
    itemVotes.flatMap((vote) => (vote.firstRating === undefined ? [] : [vote.firstRating])),
    itemVotes.flatMap((vote) => (vote.secondRating === undefined ? [] : [vote.secondRating])),
  ]);
  const pairs = new Map<string, PairwiseOutcome[]>();
  for (const { item, outcome } of outcomes) {
    const key = `${item.firstModel}\u0000${item.secondModel}`;
    pairs.set(key, [...(pairs.get(key) ?? []), outcome]);
  }
  const winRates = [...pairs].map(([key, list]) => {
    const [model, opponent] = key.split("\u0000") as [string, string];
    return { model, opponent, winRate: winRate({ outcomes: list, ...options }) };
  });
  const comparisons: Comparison[] = outcomes.map(({ item, outcome }) => ({
    first: item.firstModel,
    second: item.secondModel,
    outcome,
  }));
  const goldVotes = countedVotes.filter((vote) => itemById.get(vote.itemId)?.kind === "gold");
  const seconds = countedVotes.map((vote) => vote.seconds);
  return {
    raters,
    secondsPerItem: { median: median(seconds), mean: mean(seconds) },
    goldAccuracy:
      goldVotes.length === 0
        ? Number.NaN
        : goldVotes.filter((vote) => vote.choice === "first").length / goldVotes.length,
    agreement: {
      fleissKappa: fleissKappaEstimate({ units: choiceUnits, ...options }),
      choiceAlpha: krippendorffAlphaEstimate({ units: choiceUnits, level: "nominal", ...options }),
      ratingAlpha: krippendorffAlphaEstimate({ units: ratingUnits, level: "ordinal", ...options }),
    },
    winRates,
    bradleyTerry:
      settings.models.length > 2
        ? bradleyTerryEstimate({ models: settings.models, comparisons, ...options })
        : undefined,
    judgeAgreement: judgeRatings === undefined ? undefined : agreeWithJudge({ outcomes, judgeRatings, ...options }),
    flaggedItems: items
      .filter((item) => item.kind === "pair" && item.flags.length > 0)
      .map((item) => ({ itemId: item.itemId, flags: item.flags })),
    outcomes,
  };
}

function summariseRater({
  raterId,
  assigned,
  votes,
  itemById,
  rules,
}: {
  raterId: string;
  assigned: number;
  votes: readonly CanonicalVote[];
  itemById: ReadonlyMap<string, StudyItem>;
  rules: ExclusionRules;
}): RaterSummary {
  const gold = votes.filter((vote) => itemById.get(vote.itemId)?.kind === "gold");
  const goldCorrect = gold.filter((vote) => vote.choice === "first").length;
  const goldAccuracy = gold.length === 0 ? Number.NaN : goldCorrect / gold.length;
  const medianSeconds = median(votes.map((vote) => vote.seconds));
  const exclusionReasons: string[] = [];
  if (goldAccuracy < rules.minGoldAccuracy) {
    exclusionReasons.push(`gold accuracy ${goldCorrect}/${gold.length} below ${rules.minGoldAccuracy}`);
  }
  if (medianSeconds < rules.minSecondsPerItem) {
    exclusionReasons.push(`median ${medianSeconds.toFixed(1)} s per item below ${rules.minSecondsPerItem} s`);
  }
  return {
    raterId,
    assigned,
    voted: votes.length,
    medianSeconds,
    goldAnswered: gold.length,
    goldCorrect,
    goldAccuracy,
    excluded: exclusionReasons.length > 0,
    exclusionReasons,
  };
}

function agreeWithJudge({
  outcomes,
  judgeRatings,
  seed,
  resamples,
}: {
  outcomes: StudyAnalysis["outcomes"];
  judgeRatings: JudgeRatings;
  seed: number;
  resamples: number;
}): JudgeAgreement {
  const units: PairwiseOutcome[][] = [];
  for (const { item, outcome } of outcomes) {
    const first = judgeRatings.ratings.get(judgeRatingKey(item.firstModel, item.benchmark, item.sourceItemId));
    const second = judgeRatings.ratings.get(judgeRatingKey(item.secondModel, item.benchmark, item.sourceItemId));
    if (first === undefined || second === undefined) continue;
    units.push([outcome, compareRatings(first, second)]);
  }
  return {
    judge: judgeRatings.judge,
    items: units.length,
    agreementRate:
      units.length === 0 ? Number.NaN : units.filter(([human, judge]) => human === judge).length / units.length,
    alpha: krippendorffAlphaEstimate({ units, level: "nominal", seed, resamples }),
  };
}
