import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { parseSimulationCallIdentity } from "../spec/call-identity.js";
import { StableAlignmentError, StoreCorruptError } from "../spec/errors.js";
import type { GenerateResult } from "../spec/language-model.js";
import type { ResponseCacheStore, RetryCause, RetryEntry, UsageEntry } from "../spec/response-cache.js";
import type { ContinuationScore, ScoreResult } from "../spec/scoring.js";
import { MIGRATIONS, type Migration } from "./migrations.js";

/** An open SQLite store: the database plus the repositories the LM layer needs. */
export interface Store {
  readonly path: string;
  readonly database: Database.Database;
  /** Implements the response cache storage for the LM cache middleware. */
  readonly responseCache: ResponseCacheStore;
  /**
   * Appends one row per LM call (made or cached) to the usage ledger; a SANDBOX call identity is
   * stored parsed (run, round, agent, step kind, target agent) for the interaction page.
   */
  recordUsage(entry: UsageEntry): void;
  /** Sums of the usage ledger, per model. */
  usageTotals(): {
    modelId: string;
    calls: number;
    cachedCalls: number;
    promptTokens: number;
    completionTokens: number;
    costUsd: number;
  }[];
  /** US dollars in the usage ledger, all models and sessions together (0 when empty). */
  spentUsd(): number;
  /** Appends one row to the retry ledger. */
  recordRetry(entry: RetryEntry): void;
  /** Retries in the ledger per cause (causes never seen are absent). */
  retryCounts(): Partial<Record<RetryCause, number>>;
  close(): void;
}

/**
 * Opens (creating when absent) a SQLite store at `path` (`:memory:` for tests), in WAL mode with
 * `synchronous = NORMAL` (a committed step survives a killed process; only an OS crash may lose the
 * last transactions), and applies pending migrations.
 */
export function openStore({
  path,
  migrations = MIGRATIONS,
}: {
  path: string;
  migrations?: readonly Migration[];
}): Store {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  let database: Database.Database;
  try {
    database = new Database(path);
  } catch (cause) {
    throw new StableAlignmentError("STORE_OPEN_FAILED", `cannot open SQLite store ${path}: ${String(cause)}`, {
      cause,
    });
  }
  try {
    database.pragma("journal_mode = WAL");
    database.pragma("synchronous = NORMAL");
    database.pragma("foreign_keys = ON");
    database.pragma("busy_timeout = 5000");
    applyMigrations(database, migrations, path);
  } catch (cause) {
    database.close();
    if (isDamagedDatabase(cause)) {
      throw new StoreCorruptError(
        `${path} is not a readable SQLite database (${(cause as Error).message}); move it away to start a new store, or restore it from a copy`,
        { path, cause },
      );
    }
    throw cause;
  }

  const selectResponse = database.prepare<[string], ResponseRow>(
    "SELECT text, finish_reason, prompt_tokens, completion_tokens, answered_by FROM lm_responses WHERE cache_key = ?",
  );
  const insertResponse = database.prepare(
    `INSERT OR IGNORE INTO lm_responses
       (cache_key, model_id, call_identity, text, finish_reason, prompt_tokens, completion_tokens, answered_by, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const selectScore = database.prepare<[string], ScoreRow>(
    "SELECT scores_json, prompt_tokens, completion_tokens, answered_by FROM lm_scores WHERE cache_key = ?",
  );
  const insertScore = database.prepare(
    `INSERT OR IGNORE INTO lm_scores
       (cache_key, model_id, call_identity, scores_json, prompt_tokens, completion_tokens, answered_by, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertUsage = database.prepare(
    `INSERT INTO lm_usage (model_id, prompt_tokens, completion_tokens, cost_usd, cached, latency_ms, created_at,
       call_identity, run_id, round, agent_id, step, step_kind, target_agent_id, retries)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const selectTotals = database.prepare<[], TotalsRow>(
    `SELECT model_id, COUNT(*) AS calls, SUM(cached) AS cached_calls, SUM(prompt_tokens) AS prompt_tokens,
            SUM(completion_tokens) AS completion_tokens, SUM(cost_usd) AS cost_usd
     FROM lm_usage GROUP BY model_id ORDER BY model_id`,
  );

  const selectSpent = database.prepare<[], { spent: number }>(
    "SELECT COALESCE(SUM(cost_usd), 0) AS spent FROM lm_usage",
  );
  const insertRetry = database.prepare(
    "INSERT INTO lm_retries (model_id, cause, attempt, delay_ms, created_at) VALUES (?, ?, ?, ?, ?)",
  );
  const selectRetryCounts = database.prepare<[], { cause: RetryCause; retries: number }>(
    "SELECT cause, COUNT(*) AS retries FROM lm_retries GROUP BY cause",
  );

  const responseCache: ResponseCacheStore = {
    get(key: string): GenerateResult | undefined {
      const row = selectResponse.get(key);
      if (row === undefined) return undefined;
      return {
        text: row.text,
        finishReason: row.finish_reason as GenerateResult["finishReason"],
        usage: { promptTokens: row.prompt_tokens, completionTokens: row.completion_tokens },
        modelId: row.answered_by,
      };
    },
    put({ key, modelId, callIdentity, result }) {
      insertResponse.run(
        key,
        modelId,
        callIdentity ?? null,
        result.text,
        result.finishReason,
        result.usage.promptTokens,
        result.usage.completionTokens,
        result.modelId,
        Date.now(),
      );
    },
    getScore(key: string): ScoreResult | undefined {
      const row = selectScore.get(key);
      if (row === undefined) return undefined;
      return {
        scores: JSON.parse(row.scores_json) as ContinuationScore[],
        usage: { promptTokens: row.prompt_tokens, completionTokens: row.completion_tokens },
        modelId: row.answered_by,
      };
    },
    putScore({ key, modelId, callIdentity, result }) {
      insertScore.run(
        key,
        modelId,
        callIdentity ?? null,
        JSON.stringify(result.scores),
        result.usage.promptTokens,
        result.usage.completionTokens,
        result.modelId,
        Date.now(),
      );
    },
  };

  let closed = false;
  return {
    path,
    database,
    responseCache,
    recordUsage(entry) {
      const identity = parseSimulationCallIdentity(entry.callIdentity);
      insertUsage.run(
        entry.modelId,
        entry.promptTokens,
        entry.completionTokens,
        entry.costUsd,
        entry.cached ? 1 : 0,
        entry.latencyMs,
        Date.now(),
        entry.callIdentity ?? null,
        identity?.runId ?? null,
        identity?.round ?? null,
        identity?.agentId ?? null,
        identity?.step ?? null,
        identity?.kind ?? null,
        identity?.targetAgentId ?? null,
        entry.retries ?? null,
      );
    },
    usageTotals() {
      return selectTotals.all().map((row) => ({
        modelId: row.model_id,
        calls: row.calls,
        cachedCalls: row.cached_calls,
        promptTokens: row.prompt_tokens,
        completionTokens: row.completion_tokens,
        costUsd: row.cost_usd,
      }));
    },
    spentUsd() {
      return selectSpent.get()?.spent ?? 0;
    },
    recordRetry(entry) {
      insertRetry.run(entry.modelId, entry.cause, entry.attempt, entry.delayMs, Date.now());
    },
    retryCounts() {
      const counts: Partial<Record<RetryCause, number>> = {};
      for (const row of selectRetryCounts.all()) counts[row.cause] = row.retries;
      return counts;
    },
    close() {
      if (closed) return;
      closed = true;
      database.close();
    },
  };
}

interface ResponseRow {
  text: string;
  finish_reason: string;
  prompt_tokens: number;
  completion_tokens: number;
  answered_by: string;
}

interface ScoreRow {
  scores_json: string;
  prompt_tokens: number;
  completion_tokens: number;
  answered_by: string;
}

interface TotalsRow {
  model_id: string;
  calls: number;
  cached_calls: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number;
}

/** SQLite's answer for a file that is not a database, or one that is truncated or overwritten. */
function isDamagedDatabase(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" && (code === "SQLITE_NOTADB" || code.startsWith("SQLITE_CORRUPT"));
}

function applyMigrations(database: Database.Database, migrations: readonly Migration[], path: string): void {
  const current = database.pragma("user_version", { simple: true }) as number;
  const newest = migrations.reduce((highest, migration) => Math.max(highest, migration.version), 0);
  if (current > newest) {
    throw new StableAlignmentError(
      "STORE_TOO_NEW",
      `${path} has schema version ${current}, newer than this stable-alignment understands (${newest}); upgrade stable-alignment`,
    );
  }
  const pending = [...migrations]
    .filter((migration) => migration.version > current)
    .sort((a, b) => a.version - b.version);
  for (const migration of pending) {
    try {
      database.transaction(() => {
        database.exec(migration.sql);
        database.pragma(`user_version = ${migration.version}`);
      })();
    } catch (cause) {
      if (isDamagedDatabase(cause)) throw cause;
      // The schema does not match its recorded version (written by a development build, or edited).
      throw new StoreCorruptError(
        `${path} cannot be upgraded from schema version ${current} to ${migration.version} (${(cause as Error).message}); it was not written by a released stable-alignment: move it away to start a new store`,
        { path, cause },
      );
    }
  }
}
