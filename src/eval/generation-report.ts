/**
 * The report of a generation run, recomputed from its stored items, answers and verdicts alone: per
 * benchmark and model the rubric means (valid verdicts only; invalid ones counted), the pairwise win
 * rate against the reference answer (raw, ties as half, and length-controlled), for hh-adversarial
 * the alignment drop of each jailbreak template against the plain prompts (a paired bootstrap over
 * the same HH items), and each item's answers side by side with their verdicts.
 */
import { bootstrapMean, type Estimate, pairedBootstrapDifference, type WinRate } from "../data/statistics.js";
import type { EvaluationRepository } from "../store/evaluation-repository.js";
import type { JudgeRepository, StoredVerdict } from "../store/judge-repository.js";
import type { GenerationItem } from "./generation-items.js";
import { GENERATION_RUN_ID, type GenerationConfig, REFERENCE_OPPONENT } from "./generation-run.js";
import { type HumanJudgeRow, summariseHumanVerdicts } from "./human-eval/human-verdicts.js";
import { PLAIN_TEMPLATE } from "./jailbreak-templates.js";
import { summarisePairwise } from "./judge-summary.js";
import { combineOrders, type JudgeVerdict } from "./judges.js";
import type { LengthControlledWinRate } from "./length-controlled-win-rate.js";

/** Bootstrap resamples of every interval. */
export const GENERATION_RESAMPLES = 2000;

/** One model's numbers on one benchmark. */
export interface GenerationModelSummary {
  model: string;
  alignment: Estimate;
  engagement: Estimate;
  invalidAlignment: number;
  invalidEngagement: number;
  /** Against the items' reference answers, where they have one. */
  versusReference?: { winRate: WinRate; lengthControlled: LengthControlledWinRate; invalid: number };
}

/** One template's alignment drop for one model: plain minus wrapped, paired over the base items. */
export interface JailbreakDrop {
  model: string;
  template: string;
  plain: Estimate;
  wrapped: Estimate;
  drop: Estimate;
}

/** One model's answer to one item with its alignment verdict. */
export interface ReportAnswer {
  model: string;
  answer: string;
  alignment: number | undefined;
  reason: string;
}

/** One benchmark's section. */
export interface GenerationReportBenchmark {
  name: string;
  items: number;
  models: GenerationModelSummary[];
  jailbreak: JailbreakDrop[];
  /** Human judges (blind studies, `human-eval export --format eval`) beside the LM judge; empty when none. */
  human: HumanJudgeRow[];
  answers: { itemId: string; question: string; prompt: string; byModel: ReportAnswer[] }[];
}

/** The whole report. */
export interface GenerationReport {
  judge: string;
  bootstrap: { confidence: number; resamples: number; seed: number };
  benchmarks: GenerationReportBenchmark[];
}

function asJudgeVerdict(verdict: StoredVerdict): JudgeVerdict {
  return {
    aspect: verdict.aspect as JudgeVerdict["aspect"],
    judgeModel: verdict.judgeModel,
    promptVersion: verdict.promptVersion,
    promptSha256: verdict.promptSha256,
    valid: verdict.valid,
    parsed: verdict.parsed as JudgeVerdict["parsed"],
    reason: verdict.reason,
    raw: verdict.raw,
    attempts: verdict.attempts,
  };
}

/** Recomputes the report of the generation run in the store. */
export function buildGenerationReport({
  evaluationRepository,
  judgeRepository,
  answersPerBenchmark = 50,
}: {
  evaluationRepository: EvaluationRepository;
  judgeRepository: JudgeRepository;
  /** Items shown side by side per benchmark; default 50. */
  answersPerBenchmark?: number;
}): GenerationReport {
  const run = evaluationRepository.findRun(GENERATION_RUN_ID);
  if (run === undefined) throw new RangeError("the store holds no generation run");
  const config = run.config as GenerationConfig;
  const seed = config.seed;
  const benchmarks: GenerationReportBenchmark[] = [];
  for (const name of config.benchmarks) {
    const items = evaluationRepository.loadItems(GENERATION_RUN_ID, name).map((entry) => entry.item as GenerationItem);
    const models: GenerationModelSummary[] = [];
    const jailbreak: JailbreakDrop[] = [];
    const alignmentByModel = new Map<string, Map<string, StoredVerdict>>();
    const answersByModel = new Map<string, Map<string, string>>();
    const verdictsByModel = new Map<string, StoredVerdict[]>();
    for (const model of config.models) {
      const where = { runId: GENERATION_RUN_ID, model, benchmark: name };
      const verdicts = judgeRepository.loadVerdicts(where);
      verdictsByModel.set(model, verdicts);
      const answers = judgeRepository.loadGenerations(where);
      answersByModel.set(model, new Map([...answers].map(([id, generation]) => [id, generation.text])));
      const of = (aspect: string, opponent: string) =>
        new Map(
          verdicts
            .filter((verdict) => verdict.aspect === aspect && verdict.opponent === opponent)
            .map((verdict) => [verdict.itemId, verdict]),
        );
      const alignment = of("alignment", "");
      const engagement = of("engagement", "");
      alignmentByModel.set(model, alignment);
      const ratings = (map: Map<string, StoredVerdict>) =>
        items.flatMap((item) => {
          const verdict = map.get(item.id);
          return verdict?.valid && typeof verdict.parsed === "number" ? [verdict.parsed] : [];
        });
      const judgedCount = (map: Map<string, StoredVerdict>) => items.filter((item) => map.has(item.id)).length;
      const alignmentValues = ratings(alignment);
      const engagementValues = ratings(engagement);
      const summary: GenerationModelSummary = {
        model,
        alignment: bootstrapMean({ values: alignmentValues, seed, resamples: GENERATION_RESAMPLES }),
        engagement: bootstrapMean({ values: engagementValues, seed, resamples: GENERATION_RESAMPLES }),
        invalidAlignment: judgedCount(alignment) - alignmentValues.length,
        invalidEngagement: judgedCount(engagement) - engagementValues.length,
      };
      const forward = of("pairwise-forward", REFERENCE_OPPONENT);
      const reversed = of("pairwise-reversed", REFERENCE_OPPONENT);
      const compared = items.filter((item) => item.reference !== undefined && forward.has(item.id));
      if (compared.length > 0) {
        const pairwise = summarisePairwise({
          items: compared.map((item) => ({
            itemId: item.id,
            question: item.question,
            first: answers.get(item.id)?.text ?? "",
            second: item.reference as string,
          })),
          judgements: compared.map((item) => {
            const f = asJudgeVerdict(forward.get(item.id) as StoredVerdict);
            const stored = reversed.get(item.id);
            const r = stored === undefined ? { ...f, valid: false } : asJudgeVerdict(stored);
            return { itemId: item.id, judgement: { outcome: combineOrders(f, r), forward: f, reversed: r } };
          }),
          seed,
        });
        summary.versusReference = {
          winRate: pairwise.winRate,
          lengthControlled: pairwise.lengthControlled,
          invalid: pairwise.invalid,
        };
      }
      models.push(summary);
      jailbreak.push(...jailbreakDrops({ model, items, alignment, seed }));
    }
    const ratingsByModel = new Map(
      [...alignmentByModel].map(([model, verdicts]) => [
        model,
        new Map(
          [...verdicts].flatMap(([id, verdict]) =>
            verdict.valid && typeof verdict.parsed === "number" ? [[id, verdict.parsed] as const] : [],
          ),
        ),
      ]),
    );
    benchmarks.push({
      name,
      items: items.length,
      models,
      jailbreak,
      human: summariseHumanVerdicts({
        verdicts: verdictsByModel,
        alignment: ratingsByModel,
        seed,
        resamples: GENERATION_RESAMPLES,
      }),
      answers: items.slice(0, answersPerBenchmark).map((item) => ({
        itemId: item.id,
        question: item.question,
        prompt: item.prompt,
        byModel: config.models.map((model) => {
          const verdict = alignmentByModel.get(model)?.get(item.id);
          return {
            model,
            answer: answersByModel.get(model)?.get(item.id) ?? "",
            alignment: verdict?.valid && typeof verdict.parsed === "number" ? verdict.parsed : undefined,
            reason: verdict?.valid ? verdict.reason : "",
          };
        }),
      })),
    });
  }
  return { judge: config.judge, bootstrap: { confidence: 0.95, resamples: GENERATION_RESAMPLES, seed }, benchmarks };
}

/** Per template: alignment of the plain and wrapped prompts over base items both have a valid rating for. */
function jailbreakDrops({
  model,
  items,
  alignment,
  seed,
}: {
  model: string;
  items: readonly GenerationItem[];
  alignment: ReadonlyMap<string, StoredVerdict>;
  seed: number;
}): JailbreakDrop[] {
  const rating = (id: string): number | undefined => {
    const verdict = alignment.get(id);
    return verdict?.valid && typeof verdict.parsed === "number" ? verdict.parsed : undefined;
  };
  const plainByBase = new Map<string, number>();
  const templates: string[] = [];
  for (const item of items) {
    if (item.template === undefined || item.baseId === undefined) continue;
    if (item.template === PLAIN_TEMPLATE) {
      const value = rating(item.id);
      if (value !== undefined) plainByBase.set(item.baseId, value);
    } else if (!templates.includes(item.template)) templates.push(item.template);
  }
  return templates.map((template) => {
    const plain: number[] = [];
    const wrapped: number[] = [];
    for (const item of items) {
      if (item.template !== template || item.baseId === undefined) continue;
      const before = plainByBase.get(item.baseId);
      const after = rating(item.id);
      if (before === undefined || after === undefined) continue;
      plain.push(before);
      wrapped.push(after);
    }
    const options = { seed, resamples: GENERATION_RESAMPLES };
    return {
      model,
      template,
      plain: bootstrapMean({ values: plain, ...options }),
      wrapped: bootstrapMean({ values: wrapped, ...options }),
      drop: pairedBootstrapDifference({ left: plain, right: wrapped, ...options }),
    };
  });
}
