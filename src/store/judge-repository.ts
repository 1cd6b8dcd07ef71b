/**
 * Reads and writes the judged-evaluation tables (judge-schema.ts, migration 6). Synchronous
 * (better-sqlite3): each answer and verdict is committed before the call returns, and the first
 * stored row of a key is kept, so a rerun after a killed process asks again only for what is missing.
 */
import type Database from "better-sqlite3";

/** One generated answer. */
export interface StoredGeneration {
  itemId: string;
  prompt: string;
  text: string;
  finishReason: string;
}

/** One judge verdict as given (the shape of src/eval's JudgeVerdict plus where it belongs). */
export interface StoredVerdict {
  itemId: string;
  aspect: string;
  /** The other model for pairwise verdicts; `""` for the rubric. */
  opponent: string;
  judgeModel: string;
  promptVersion: string;
  promptSha256: string;
  valid: boolean;
  /** Rating or `A`/`B`/`tie`; undefined when invalid. */
  parsed: number | string | undefined;
  reason: string;
  raw: string;
  attempts: number;
}

/** The repository. */
export interface JudgeRepository {
  saveGeneration(input: { runId: string; model: string; benchmark: string; generation: StoredGeneration }): void;
  /** A model's stored answers for a benchmark, keyed by item id. */
  loadGenerations(input: { runId: string; model: string; benchmark: string }): Map<string, StoredGeneration>;
  saveVerdict(input: { runId: string; model: string; benchmark: string; verdict: StoredVerdict }): void;
  /** A model's stored verdicts for a benchmark, in item then aspect order. */
  loadVerdicts(input: { runId: string; model: string; benchmark: string }): StoredVerdict[];
  /**
   * Replaces, in one transaction, every verdict of `judgeModel` under `promptVersion` with `rows`: a
   * judge whose verdicts are recomputed (the human judge of a study, whose raters may change a vote).
   */
  replaceJudgeVerdicts(input: {
    runId: string;
    judgeModel: string;
    promptVersion: string;
    rows: readonly { model: string; benchmark: string; verdict: StoredVerdict }[];
  }): void;
}

interface VerdictRow {
  item_id: string;
  aspect: string;
  opponent: string;
  judge_model: string;
  prompt_version: string;
  prompt_sha256: string;
  valid: number;
  parsed: string | null;
  reason: string;
  raw_output: string;
  attempts: number;
}

/** Creates the repository on an open database (migration 6 applied). */
export function createJudgeRepository({ database }: { database: Database.Database }): JudgeRepository {
  const insertGeneration = database.prepare(
    `INSERT OR IGNORE INTO eval_generations (run_id, model, benchmark, item_id, prompt, text, finish_reason, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const selectGenerations = database.prepare<
    [string, string, string],
    { item_id: string; prompt: string; text: string; finish_reason: string }
  >(
    "SELECT item_id, prompt, text, finish_reason FROM eval_generations WHERE run_id = ? AND model = ? AND benchmark = ?",
  );
  const insertVerdict = database.prepare(
    `INSERT OR IGNORE INTO eval_verdicts
       (run_id, model, benchmark, item_id, aspect, opponent, judge_model, prompt_version, prompt_sha256,
        valid, parsed, reason, raw_output, attempts, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const selectVerdicts = database.prepare<[string, string, string], VerdictRow>(
    `SELECT item_id, aspect, opponent, judge_model, prompt_version, prompt_sha256, valid, parsed, reason,
            raw_output, attempts
       FROM eval_verdicts WHERE run_id = ? AND model = ? AND benchmark = ? ORDER BY item_id, aspect, opponent`,
  );
  const deleteJudgeVerdicts = database.prepare(
    "DELETE FROM eval_verdicts WHERE run_id = ? AND judge_model = ? AND prompt_version = ?",
  );
  const saveVerdict = ({
    runId,
    model,
    benchmark,
    verdict,
  }: {
    runId: string;
    model: string;
    benchmark: string;
    verdict: StoredVerdict;
  }): void => {
    insertVerdict.run(
      runId,
      model,
      benchmark,
      verdict.itemId,
      verdict.aspect,
      verdict.opponent,
      verdict.judgeModel,
      verdict.promptVersion,
      verdict.promptSha256,
      verdict.valid ? 1 : 0,
      verdict.valid && verdict.parsed !== undefined ? String(verdict.parsed) : null,
      verdict.reason,
      verdict.raw,
      verdict.attempts,
      Date.now(),
    );
  };
  const replaceJudgeVerdicts = database.transaction(
    ({ runId, judgeModel, promptVersion, rows }: Parameters<JudgeRepository["replaceJudgeVerdicts"]>[0]) => {
      deleteJudgeVerdicts.run(runId, judgeModel, promptVersion);
      for (const row of rows) saveVerdict({ runId, ...row });
    },
  );
  return {
    replaceJudgeVerdicts(input) {
      replaceJudgeVerdicts(input);
    },
    saveGeneration({ runId, model, benchmark, generation }) {
      insertGeneration.run(
        runId,
        model,
        benchmark,
        generation.itemId,
        generation.prompt,
        generation.text,
        generation.finishReason,
        Date.now(),
      );
    },
    loadGenerations({ runId, model, benchmark }) {
      const rows = selectGenerations.all(runId, model, benchmark);
      return new Map(
        rows.map((row) => [
          row.item_id,
          { itemId: row.item_id, prompt: row.prompt, text: row.text, finishReason: row.finish_reason },
        ]),
      );
    },
    saveVerdict,
    loadVerdicts({ runId, model, benchmark }) {
      return selectVerdicts.all(runId, model, benchmark).map((row) => ({
        itemId: row.item_id,
        aspect: row.aspect,
        opponent: row.opponent,
        judgeModel: row.judge_model,
        promptVersion: row.prompt_version,
        promptSha256: row.prompt_sha256,
        valid: row.valid === 1,
        parsed: row.parsed === null ? undefined : /^\d+$/.test(row.parsed) ? Number(row.parsed) : row.parsed,
        reason: row.reason,
        raw: row.raw_output,
        attempts: row.attempts,
      }));
    },
  };
}
