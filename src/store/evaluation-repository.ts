/**
 * Reads and writes an evaluation run's tables (see evaluation-schema.ts). Synchronous
 * (better-sqlite3): each write is committed before the call returns, so a score the caller was given
 * survives a killed process and is never asked for again.
 */
import { createHash } from "node:crypto";
import type Database from "better-sqlite3";
import type { ContinuationScore } from "../spec/scoring.js";

/** One stored item: its id and its JSON (the benchmark's item). */
export interface StoredEvaluationItem {
  itemId: string;
  item: unknown;
}

/** One stored metric with the ids of the units (items or groups) it is computed over. */
export interface StoredMetric {
  model: string;
  benchmark: string;
  metric: string;
  value: number;
  lower: number;
  upper: number;
  count: number;
  confidence: number;
  itemIds: string[];
}

/** The repository. */
export interface EvaluationRepository {
  /** The stored config of a run, or undefined when there is none. */
  findRun(runId: string): { config: unknown; status: string } | undefined;
  createRun(input: { runId: string; config: unknown }): void;
  setRunStatus(runId: string, status: "running" | "finished" | "failed" | "stopped"): void;
  /** Whether a benchmark's items are stored. */
  hasItems(runId: string, benchmark: string): boolean;
  /** Stores a benchmark's items in order, in one transaction. */
  saveItems(runId: string, benchmark: string, items: readonly StoredEvaluationItem[]): void;
  /** A benchmark's items in stored order. */
  loadItems(runId: string, benchmark: string): StoredEvaluationItem[];
  /** The stored score of each continuation of a context (undefined where none is stored). */
  findScores(input: {
    runId: string;
    model: string;
    context: string;
    continuations: readonly string[];
  }): (ContinuationScore | undefined)[];
  /** Stores the scores of continuations of one context (the first stored score of each is kept). */
  saveScores(input: {
    runId: string;
    model: string;
    context: string;
    continuations: readonly string[];
    scores: readonly ContinuationScore[];
    answeredBy: string;
  }): void;
  /** Number of continuations scored for a model. */
  countScores(runId: string, model: string): number;
  /** Replaces the metrics of one (model, benchmark). */
  saveMetrics(runId: string, model: string, benchmark: string, metrics: readonly StoredMetric[]): void;
}

/** SHA-256 (hex) of a context, its key in `eval_contexts`. */
export function contextHash(context: string): string {
  return createHash("sha256").update(context).digest("hex");
}

interface ScoreRow {
  continuation: string;
  valid: number;
  log_probability: number | null;
  token_count: number | null;
  token_log_probabilities_json: string | null;
  reason: string | null;
}

/** Creates the repository on an open database (migration 3 applied). */
export function createEvaluationRepository({ database }: { database: Database.Database }): EvaluationRepository {
  const selectRun = database.prepare<[string], { config_json: string; status: string }>(
    "SELECT config_json, status FROM runs WHERE run_id = ? AND kind = 'evaluation'",
  );
  const insertRun = database.prepare(
    "INSERT INTO runs (run_id, kind, config_json, status, created_at, updated_at) VALUES (?, 'evaluation', ?, 'running', ?, ?)",
  );
  const updateStatus = database.prepare("UPDATE runs SET status = ?, updated_at = ? WHERE run_id = ?");
  const countItems = database.prepare<[string, string], { count: number }>(
    "SELECT COUNT(*) AS count FROM eval_items WHERE run_id = ? AND benchmark = ?",
  );
  const insertItem = database.prepare(
    "INSERT INTO eval_items (run_id, benchmark, position, item_id, item_json) VALUES (?, ?, ?, ?, ?)",
  );
  const selectItems = database.prepare<[string, string], { item_id: string; item_json: string }>(
    "SELECT item_id, item_json FROM eval_items WHERE run_id = ? AND benchmark = ? ORDER BY position",
  );
  const insertContext = database.prepare("INSERT OR IGNORE INTO eval_contexts (context_hash, text) VALUES (?, ?)");
  const selectScores = database.prepare<[string, string, string], ScoreRow>(
    `SELECT continuation, valid, log_probability, token_count, token_log_probabilities_json, reason
       FROM eval_scores WHERE run_id = ? AND model = ? AND context_hash = ?`,
  );
  const insertScore = database.prepare(
    `INSERT OR IGNORE INTO eval_scores
       (run_id, model, context_hash, continuation, valid, log_probability, token_count,
        token_log_probabilities_json, reason, answered_by, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const selectScoreCount = database.prepare<[string, string], { count: number }>(
    "SELECT COUNT(*) AS count FROM eval_scores WHERE run_id = ? AND model = ?",
  );
  const deleteMetrics = database.prepare("DELETE FROM eval_metrics WHERE run_id = ? AND model = ? AND benchmark = ?");
  const insertMetric = database.prepare(
    `INSERT INTO eval_metrics (run_id, model, benchmark, metric, value, lower, upper, count, confidence, item_ids_json)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );

  const saveItems = database.transaction((runId: string, benchmark: string, items: readonly StoredEvaluationItem[]) => {
    items.forEach((item, position) => {
      insertItem.run(runId, benchmark, position, item.itemId, JSON.stringify(item.item));
    });
  });
  const saveScores = database.transaction(
    (input: Parameters<EvaluationRepository["saveScores"]>[0], createdAt: number) => {
      const hash = contextHash(input.context);
      insertContext.run(hash, input.context);
      input.continuations.forEach((continuation, index) => {
        const score = input.scores[index] as ContinuationScore;
        insertScore.run(
          input.runId,
          input.model,
          hash,
          continuation,
          score.valid ? 1 : 0,
          score.valid ? score.logProbability : null,
          score.valid ? score.tokenCount : null,
          score.valid ? JSON.stringify(score.tokenLogProbabilities) : null,
          score.valid ? null : score.reason,
          input.answeredBy,
          createdAt,
        );
      });
    },
  );
  const saveMetrics = database.transaction(
    (runId: string, model: string, benchmark: string, metrics: readonly StoredMetric[]) => {
      deleteMetrics.run(runId, model, benchmark);
      for (const metric of metrics) {
        insertMetric.run(
          runId,
          model,
          benchmark,
          metric.metric,
          Number.isNaN(metric.value) ? null : metric.value,
          Number.isNaN(metric.lower) ? null : metric.lower,
          Number.isNaN(metric.upper) ? null : metric.upper,
          metric.count,
          metric.confidence,
          JSON.stringify(metric.itemIds),
        );
      }
    },
  );

  return {
    findRun(runId) {
      const row = selectRun.get(runId);
      return row === undefined ? undefined : { config: JSON.parse(row.config_json), status: row.status };
    },
    createRun({ runId, config }) {
      const now = Date.now();
      insertRun.run(runId, JSON.stringify(config), now, now);
    },
    setRunStatus(runId, status) {
      updateStatus.run(status, Date.now(), runId);
    },
    hasItems(runId, benchmark) {
      return (countItems.get(runId, benchmark)?.count ?? 0) > 0;
    },
    saveItems(runId, benchmark, items) {
      saveItems(runId, benchmark, items);
    },
    loadItems(runId, benchmark) {
      return selectItems.all(runId, benchmark).map((row) => ({ itemId: row.item_id, item: JSON.parse(row.item_json) }));
    },
    findScores({ runId, model, context, continuations }) {
      const stored = new Map<string, ScoreRow>();
      for (const row of selectScores.all(runId, model, contextHash(context))) stored.set(row.continuation, row);
      return continuations.map((continuation) => {
        const row = stored.get(continuation);
        if (row === undefined) return undefined;
        if (row.valid !== 1) return { valid: false, reason: row.reason ?? "invalid" };
        return {
          valid: true,
          logProbability: row.log_probability as number,
          tokenCount: row.token_count as number,
          tokenLogProbabilities: JSON.parse(row.token_log_probabilities_json ?? "[]") as number[],
        };
      });
    },
    saveScores(input) {
      saveScores(input, Date.now());
    },
    countScores(runId, model) {
      return selectScoreCount.get(runId, model)?.count ?? 0;
    },
    saveMetrics(runId, model, benchmark, metrics) {
      saveMetrics(runId, model, benchmark, metrics);
    },
  };
}
