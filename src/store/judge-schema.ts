/**
 * Tables of LM-judged evaluation (migration 6): each model's generated answer per item, and every
 * judge verdict as it was given (judge model, prompt name@version and hash, raw output, parsed
 * value), so a report recomputes every judged number from the stored verdicts and a rerun asks
 * neither the model nor the judge again for what is stored.
 */
export const JUDGE_SCHEMA_SQL = `
CREATE TABLE eval_generations (
  run_id TEXT NOT NULL REFERENCES runs(run_id),
  model TEXT NOT NULL,
  benchmark TEXT NOT NULL,
  item_id TEXT NOT NULL,
  prompt TEXT NOT NULL,
  text TEXT NOT NULL,
  finish_reason TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (run_id, model, benchmark, item_id)
) WITHOUT ROWID;

-- aspect: alignment | engagement | pairwise-forward | pairwise-reversed. opponent is '' for the
-- rubric. parsed is the rating (1-7) or A/B/tie as text; NULL with valid = 0.
CREATE TABLE eval_verdicts (
  run_id TEXT NOT NULL REFERENCES runs(run_id),
  model TEXT NOT NULL,
  benchmark TEXT NOT NULL,
  item_id TEXT NOT NULL,
  aspect TEXT NOT NULL,
  opponent TEXT NOT NULL,
  judge_model TEXT NOT NULL,
  prompt_version TEXT NOT NULL,
  prompt_sha256 TEXT NOT NULL,
  valid INTEGER NOT NULL,
  parsed TEXT,
  reason TEXT NOT NULL,
  raw_output TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (run_id, model, benchmark, item_id, aspect, opponent, judge_model, prompt_version)
) WITHOUT ROWID;
`;
