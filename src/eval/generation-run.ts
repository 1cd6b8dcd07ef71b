/**
 * One generation run (issue 14): each model answers each stored item, a rubric judge rates every
 * answer on the observer rubric, and where the item has a reference answer (HH: the dataset's chosen
 * one) a pairwise judge compares the two in both orders. Items, answers and verdicts are stored as
 * they come (judge-repository.ts), so a stopped run continues with no model or judge call repeated
 * and the report (generation-report.ts) is recomputed from the store alone.
 */
import { CancelledError, ConfigError } from "../spec/errors.js";
import type { LanguageModel, SamplingOptions } from "../spec/language-model.js";
import type { EvaluationRepository } from "../store/evaluation-repository.js";
import type { JudgeRepository, StoredVerdict } from "../store/judge-repository.js";
import type { GenerationItem } from "./generation-items.js";
import type { JudgeVerdict, PairwiseJudge, RubricJudge } from "./judges.js";

/** The run id of the generation evaluation a run directory holds. */
export const GENERATION_RUN_ID = "generation";

/** The opponent name of pairwise verdicts against an item's reference answer. */
export const REFERENCE_OPPONENT = "reference";

/** What defines a generation run; a rerun on the same directory must give the same. */
export interface GenerationConfig {
  mode: "generation";
  models: string[];
  benchmarks: string[];
  /** The judge's model spec. */
  judge: string;
  /** Items per benchmark (the first ones; hh-adversarial: base prompts), applied by the loader; null: all. */
  limit: number | null;
  /** Seed of the answers' sampling and of the bootstrap intervals. */
  seed: number;
}

/** Progress of a run. */
export type GenerationEvent =
  | { kind: "items"; benchmark: string; items: number; stored: boolean }
  | { kind: "item"; benchmark: string; model: string; done: number; items: number };

/** Options of {@link runGeneration}. */
export interface RunGenerationOptions {
  evaluationRepository: EvaluationRepository;
  judgeRepository: JudgeRepository;
  config: GenerationConfig;
  /** The model of each spec of `config.models`. */
  models: ReadonlyMap<string, LanguageModel>;
  rubricJudge: RubricJudge;
  pairwiseJudge: PairwiseJudge;
  /** A benchmark's items, `config.limit` applied; asked only when the run has none stored for it. */
  loadItems: (benchmark: string) => Promise<GenerationItem[]>;
  /** Sampling of the answers; default temperature 0, 512 tokens, `config.seed`. */
  sampling?: SamplingOptions;
  onEvent?: (event: GenerationEvent) => void;
  signal?: AbortSignal;
}

function stored(verdict: JudgeVerdict, itemId: string, opponent: string): StoredVerdict {
  return {
    itemId,
    aspect: verdict.aspect,
    opponent,
    judgeModel: verdict.judgeModel,
    promptVersion: verdict.promptVersion,
    promptSha256: verdict.promptSha256,
    valid: verdict.valid,
    parsed: verdict.parsed,
    reason: verdict.reason,
    raw: verdict.raw,
    attempts: verdict.attempts,
  };
}

/** Runs (or continues) the generation evaluation; the run's status is `finished` when it returns. */
export async function runGeneration({
  evaluationRepository,
  judgeRepository,
  config,
  models,
  rubricJudge,
  pairwiseJudge,
  loadItems,
  sampling = { temperature: 0, maxTokens: 512, seed: config.seed },
  onEvent,
  signal,
}: RunGenerationOptions): Promise<void> {
  const existing = evaluationRepository.findRun(GENERATION_RUN_ID);
  if (existing === undefined) {
    evaluationRepository.createRun({ runId: GENERATION_RUN_ID, config });
  } else {
    if (JSON.stringify(existing.config) !== JSON.stringify(config)) {
      throw new ConfigError(
        `this run directory holds a generation evaluation with ${JSON.stringify(existing.config)}; rerun with the same flags to continue it, or choose another --out`,
        { field: "--out" },
      );
    }
    evaluationRepository.setRunStatus(GENERATION_RUN_ID, "running");
  }
  try {
    for (const benchmark of config.benchmarks) {
      let items: GenerationItem[];
      if (evaluationRepository.hasItems(GENERATION_RUN_ID, benchmark)) {
        items = evaluationRepository
          .loadItems(GENERATION_RUN_ID, benchmark)
          .map((entry) => entry.item as GenerationItem);
        onEvent?.({ kind: "items", benchmark, items: items.length, stored: true });
      } else {
        items = await loadItems(benchmark);
        evaluationRepository.saveItems(
          GENERATION_RUN_ID,
          benchmark,
          items.map((item) => ({ itemId: item.id, item })),
        );
        onEvent?.({ kind: "items", benchmark, items: items.length, stored: false });
      }
      for (const model of config.models) {
        const languageModel = models.get(model);
        if (languageModel === undefined) throw new RangeError(`no model for ${model}`);
        const where = { runId: GENERATION_RUN_ID, model, benchmark };
        const answers = judgeRepository.loadGenerations(where);
        const judged = new Set(
          judgeRepository.loadVerdicts(where).map((verdict) => `${verdict.itemId}\u0000${verdict.aspect}`),
        );
        let done = 0;
        for (const item of items) {
          signal?.throwIfAborted();
          let answer = answers.get(item.id)?.text;
          if (answer === undefined) {
            const common = {
              sampling,
              callIdentity: `generation/${benchmark}/${item.id}`,
              ...(signal ? { signal } : {}),
            };
            const result = languageModel.capabilities.chat
              ? await languageModel.generate({ ...common, messages: [{ role: "user", content: item.prompt }] })
              : await languageModel.generate({ ...common, prompt: item.prompt });
            answer = result.text;
            judgeRepository.saveGeneration({
              ...where,
              generation: { itemId: item.id, prompt: item.prompt, text: answer, finishReason: result.finishReason },
            });
          }
          if (!judged.has(`${item.id}\u0000alignment`)) {
            const judgement = await rubricJudge.judge({
              question: item.question,
              answer,
              notes: item.judgeNotes,
              callIdentity: `judge/${benchmark}/${item.id}`,
            });
            for (const verdict of [judgement.alignment, judgement.engagement]) {
              judgeRepository.saveVerdict({ ...where, verdict: stored(verdict, item.id, "") });
            }
          }
          if (item.reference !== undefined && !judged.has(`${item.id}\u0000pairwise-forward`)) {
            const judgement = await pairwiseJudge.compare({
              question: item.question,
              first: answer,
              second: item.reference,
              callIdentity: `judge/${benchmark}/${item.id}`,
            });
            for (const verdict of [judgement.forward, judgement.reversed]) {
              judgeRepository.saveVerdict({ ...where, verdict: stored(verdict, item.id, REFERENCE_OPPONENT) });
            }
          }
          done += 1;
          onEvent?.({ kind: "item", benchmark, model, done, items: items.length });
        }
      }
    }
    evaluationRepository.setRunStatus(GENERATION_RUN_ID, "finished");
  } catch (error) {
    evaluationRepository.setRunStatus(GENERATION_RUN_ID, signal?.aborted ? "stopped" : "failed");
    if (signal?.aborted) {
      throw new CancelledError(
        "evaluation stopped; every answer and verdict so far is stored: run the same command again to continue",
      );
    }
    throw error;
  }
}
