/**
 * The plan of a blind study, a pure function of its inputs and seed: which prompts are asked (seeded
 * sample), one pair item per prompt and pair of models (round-robin for more than two), gold items,
 * which raters see each item (every pair item gets `perItem` raters, rotating over the raters; every
 * rater sees every gold item, so each rater's gold accuracy can be measured), and each rater's item
 * order and sides.
 */
import { createRandom, deriveSeed, sampleWithoutReplacement, shuffle } from "../../engine/random.js";
import { UsageError } from "../../spec/errors.js";
import type { StudyAssignment, StudyItem } from "../../store/human-eval-repository.js";
import type { GoldPair } from "./gold-pairs.js";
import { findIdentityWords } from "./identity-words.js";

/** Exclusion rules, fixed at creation. */
export interface ExclusionRules {
  /** A rater whose share of gold items answered right is below this is excluded. Default 0.75. */
  minGoldAccuracy: number;
  /** A rater whose median seconds per item is below this is excluded. Default 3. */
  minSecondsPerItem: number;
}

/** What a study was created with (stored as its config). */
export interface StudySettings {
  models: string[];
  /** Prompts asked (each gives one item per model pair); default every prompt all models answered. */
  items?: number;
  /** Raters per pair item; default 3. */
  perItem: number;
  /** Raters; default `perItem`. */
  raters: number;
  /** Gold items as a share of the pair items (rounded up when above 0); default 0.1. */
  goldFraction: number;
  seed: number;
  exclusion: ExclusionRules;
}

/** One prompt every chosen model answered. */
export interface PromptAnswers {
  /** The evaluation directory it came from. */
  source: string;
  benchmark: string;
  itemId: string;
  question: string;
  prompt: string;
  /** Answer per model spec. */
  answers: ReadonlyMap<string, string>;
}

/** The planned study. */
export interface StudyPlan {
  items: StudyItem[];
  raterIds: string[];
  assignments: Omit<StudyAssignment, "shownAt">[];
}

/** Plans the study; throws UsageError for settings that cannot work (names the flag). */
export function planStudy({
  prompts,
  goldPairs,
  settings,
}: {
  prompts: readonly PromptAnswers[];
  goldPairs: readonly GoldPair[];
  settings: StudySettings;
}): StudyPlan {
  const { models, perItem, raters, goldFraction, seed } = settings;
  if (new Set(models).size !== models.length || models.length < 2) {
    throw new UsageError("--models needs at least two different models", { field: "--models" });
  }
  if (perItem > raters) {
    throw new UsageError(`--per-item ${perItem} is more than --raters ${raters}`, { field: "--per-item" });
  }
  const usable = prompts.filter((prompt) => models.every((model) => prompt.answers.has(model)));
  if (usable.length === 0) {
    throw new UsageError(`no prompt was answered by every one of ${models.join(", ")}`, { field: "--models" });
  }
  const count = Math.min(settings.items ?? usable.length, usable.length);
  const chosen = sampleWithoutReplacement({
    items: usable,
    count,
    random: createRandom({ seed: deriveSeed(seed, "prompts") }),
  });
  const items: StudyItem[] = [];
  for (const prompt of chosen) {
    for (let first = 0; first < models.length; first += 1) {
      for (let second = first + 1; second < models.length; second += 1) {
        const [firstModel, secondModel] = [models[first] as string, models[second] as string];
        const [firstAnswer, secondAnswer] = [
          prompt.answers.get(firstModel) as string,
          prompt.answers.get(secondModel) as string,
        ];
        items.push({
          itemId: `pair-${items.length + 1}`,
          kind: "pair",
          source: prompt.source,
          benchmark: prompt.benchmark,
          sourceItemId: prompt.itemId,
          question: prompt.question,
          prompt: prompt.prompt,
          firstModel,
          secondModel,
          firstAnswer,
          secondAnswer,
          flags: findIdentityWords({ text: `${firstAnswer}\n${secondAnswer}`, models }),
        });
      }
    }
  }
  const pairCount = items.length;
  const goldCount = Math.min(goldFraction > 0 ? Math.ceil(goldFraction * pairCount) : 0, goldPairs.length);
  const gold = sampleWithoutReplacement({
    items: goldPairs,
    count: goldCount,
    random: createRandom({ seed: deriveSeed(seed, "gold") }),
  });
  for (const pair of gold) {
    items.push({
      itemId: `gold-${items.length - pairCount + 1}`,
      kind: "gold",
      source: "gold",
      benchmark: "gold",
      sourceItemId: pair.id,
      question: pair.question,
      prompt: pair.question,
      firstModel: "gold-better",
      secondModel: "gold-worse",
      firstAnswer: pair.better,
      secondAnswer: pair.worse,
      flags: [],
    });
  }
  const raterIds = Array.from({ length: raters }, (_, index) => `rater-${index + 1}`);
  const byRater = new Map<string, string[]>(raterIds.map((id) => [id, []]));
  items.forEach((item, index) => {
    if (item.kind === "gold") {
      for (const id of raterIds) byRater.get(id)?.push(item.itemId);
      return;
    }
    for (let slot = 0; slot < perItem; slot += 1) {
      byRater.get(raterIds[(index * perItem + slot) % raters] as string)?.push(item.itemId);
    }
  });
  const assignments: StudyPlan["assignments"] = [];
  for (const raterId of raterIds) {
    const random = createRandom({ seed: deriveSeed(seed, "rater", raterId) });
    const order = shuffle({ items: byRater.get(raterId) ?? [], random });
    order.forEach((itemId, position) => {
      assignments.push({ raterId, position, itemId, swapped: random.nextFloat() < 0.5 });
    });
  }
  return { items, raterIds, assignments };
}
