/**
 * Tables of an evaluation run (migration 3). The run itself is a row of the core `runs` table (kind
 * `evaluation`). Items are stored before any is scored, so a report recomputes every number from
 * them; each choice's score is its own row, keyed by (run, model, context, continuation) and written
 * as its call returns, so a rerun asks the model only for what is missing.
 */
export const EVALUATION_SCHEMA_SQL = `
CREATE TABLE eval_items (
  run_id TEXT NOT NULL REFERENCES runs(run_id),
  benchmark TEXT NOT NULL,
  position INTEGER NOT NULL,
  item_id TEXT NOT NULL,
  item_json TEXT NOT NULL,
  PRIMARY KEY (run_id, benchmark, position)
) WITHOUT ROWID;
CREATE UNIQUE INDEX eval_items_by_id ON eval_items(run_id, benchmark, item_id);

-- Contexts once per text (the TruthfulQA primer starts every one of its contexts).
CREATE TABLE eval_contexts (
  context_hash TEXT PRIMARY KEY,
  text TEXT NOT NULL
) WITHOUT ROWID;

-- One row per scored continuation. valid = 0 keeps the reason and no number.
CREATE TABLE eval_scores (
  run_id TEXT NOT NULL REFERENCES runs(run_id),
  model TEXT NOT NULL,
  context_hash TEXT NOT NULL REFERENCES eval_contexts(context_hash),
  continuation TEXT NOT NULL,
  valid INTEGER NOT NULL,
  log_probability REAL,
  token_count INTEGER,
  token_log_probabilities_json TEXT,
  reason TEXT,
  answered_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (run_id, model, context_hash, continuation)
) WITHOUT ROWID;

-- Metrics as computed at the end of each (model, benchmark); item_ids_json names the units behind them.
CREATE TABLE eval_metrics (
  run_id TEXT NOT NULL REFERENCES runs(run_id),
  model TEXT NOT NULL,
  benchmark TEXT NOT NULL,
  metric TEXT NOT NULL,
  value REAL,
  lower REAL,
  upper REAL,
  count INTEGER NOT NULL,
  confidence REAL NOT NULL,
  item_ids_json TEXT NOT NULL,
  PRIMARY KEY (run_id, model, benchmark, metric)
) WITHOUT ROWID;
`;
