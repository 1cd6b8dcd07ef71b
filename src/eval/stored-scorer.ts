/**
 * A Scorer that keeps every continuation's score in the evaluation store: a continuation already
 * stored for (run, model, context) is answered from the store, and only the missing ones go to the
 * model, in one call, whose scores are stored before they are returned. A rerun of a stopped run
 * therefore never repeats a model call. Without a model it only replays (what `eval report` uses)
 * and refuses a missing score with an EvaluationIncompleteError.
 */
import { EvaluationIncompleteError } from "../spec/errors.js";
import type { ContinuationScore, ScoreRequest, ScoreResult, Scorer } from "../spec/scoring.js";
import type { EvaluationRepository } from "../store/evaluation-repository.js";

/** Counts of what a stored scorer did. */
export interface StoredScorerCounts {
  /** Continuations answered from the store. */
  stored: number;
  /** Continuations sent to the model. */
  scored: number;
  /** Calls made to the model. */
  calls: number;
}

/** A Scorer backed by the store, with its counts. */
export interface StoredScorer extends Scorer {
  readonly counts: StoredScorerCounts;
}

/**
 * Creates the scorer for one model (`model`: the spec the run names it by) of run `runId`. `scorer`
 * absent: replay only.
 */
export function createStoredScorer({
  repository,
  runId,
  model,
  scorer,
}: {
  repository: EvaluationRepository;
  runId: string;
  model: string;
  scorer?: Scorer;
}): StoredScorer {
  const counts: StoredScorerCounts = { stored: 0, scored: 0, calls: 0 };
  // Continuations being scored right now (key: context hash input + continuation), so two items
  // sharing a context and a choice (TruthfulQA MC1 and MC2) never ask for it twice.
  const inFlight = new Map<string, Promise<ContinuationScore>>();
  const keyOf = (context: string, continuation: string): string => JSON.stringify([context, continuation]);
  return {
    counts,
    async score(request: ScoreRequest): Promise<ScoreResult> {
      const stored = repository.findScores({
        runId,
        model,
        context: request.context,
        continuations: request.continuations,
      });
      const waiting = new Map<string, Promise<ContinuationScore>>();
      const missing: string[] = [];
      request.continuations.forEach((continuation, index) => {
        if (stored[index] !== undefined) return;
        const pending = inFlight.get(keyOf(request.context, continuation));
        if (pending !== undefined) waiting.set(continuation, pending);
        else if (!missing.includes(continuation)) missing.push(continuation);
      });
      counts.stored += request.continuations.length - missing.length - waiting.size;
      let usage = { promptTokens: 0, completionTokens: 0 };
      let modelId = model;
      if (missing.length > 0) {
        if (scorer === undefined) {
          throw new EvaluationIncompleteError(
            `model ${model} has no stored score for ${missing.length} continuation(s) of a context; run \`eval run\` again on this directory to finish it`,
            { missing: missing.length },
          );
        }
        counts.calls += 1;
        counts.scored += missing.length;
        const call = scorer.score({ ...request, continuations: missing }).then((result) => {
          repository.saveScores({
            runId,
            model,
            context: request.context,
            continuations: missing,
            scores: result.scores,
            answeredBy: result.modelId,
          });
          return result;
        });
        missing.forEach((continuation, index) => {
          const key = keyOf(request.context, continuation);
          const entry = call.then((result) => result.scores[index] as ContinuationScore);
          entry.catch(() => undefined);
          inFlight.set(key, entry);
        });
        try {
          const result = await call;
          usage = result.usage;
          modelId = result.modelId;
          missing.forEach((continuation, index) => {
            waiting.set(continuation, Promise.resolve(result.scores[index] as ContinuationScore));
          });
        } finally {
          for (const continuation of missing) inFlight.delete(keyOf(request.context, continuation));
        }
      }
      for (const [index, continuation] of request.continuations.entries()) {
        const pending = waiting.get(continuation);
        if (stored[index] === undefined && pending !== undefined) stored[index] = await pending;
      }
      return {
        scores: stored as ContinuationScore[],
        usage,
        modelId,
        ...(missing.length === 0 ? { cached: true } : {}),
      };
    },
  };
}
