/** Tables every run needs: runs, the LM response cache and the per-call usage ledger. */
export const CORE_SCHEMA_SQL = `
CREATE TABLE runs (
  run_id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  config_json TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'failed', 'stopped')),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

-- One row per distinct (request, call identity): replaying a run reads its answers from here.
CREATE TABLE lm_responses (
  cache_key TEXT PRIMARY KEY,
  model_id TEXT NOT NULL,
  call_identity TEXT,
  text TEXT NOT NULL,
  finish_reason TEXT NOT NULL,
  prompt_tokens INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  answered_by TEXT NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;

-- One row per call made or served from cache, for cost accounting and run statistics.
CREATE TABLE lm_usage (
  id INTEGER PRIMARY KEY,
  model_id TEXT NOT NULL,
  prompt_tokens INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  cost_usd REAL NOT NULL,
  cached INTEGER NOT NULL,
  latency_ms REAL NOT NULL,
  created_at INTEGER NOT NULL
);
`;

/** Migration 3: one row per retried LM call attempt, with its cause, for run statistics. */
export const RETRY_LEDGER_SQL = `
CREATE TABLE lm_retries (
  id INTEGER PRIMARY KEY,
  model_id TEXT NOT NULL,
  cause TEXT NOT NULL CHECK (cause IN ('rate-limit', 'server-error', 'bad-body', 'timeout', 'connection')),
  attempt INTEGER NOT NULL,
  delay_ms REAL NOT NULL,
  created_at INTEGER NOT NULL
);
`;

/**
 * Migration 4: the response cache of likelihood scoring. One row per distinct (score request, call
 * identity); the scores (one per continuation, valid or invalid) are stored as JSON.
 */
export const SCORE_CACHE_SQL = `
CREATE TABLE lm_scores (
  cache_key TEXT PRIMARY KEY,
  model_id TEXT NOT NULL,
  call_identity TEXT,
  scores_json TEXT NOT NULL,
  prompt_tokens INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  answered_by TEXT NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
`;
