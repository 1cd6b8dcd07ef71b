/**
 * Tables of a SANDBOX simulation (migration 2). The run itself is a row of the core `runs` table
 * (kind `simulation`). Every Back-Scatter step is its own row, written as the step completes, so a
 * killed run resumes from its last persisted step; `(run, round, agent)` is unique, so no interaction
 * is run twice.
 */
export const SIMULATION_SCHEMA_SQL = `
CREATE TABLE simulation_agents (
  run_id TEXT NOT NULL REFERENCES runs(run_id),
  agent_id INTEGER NOT NULL,
  grid_row INTEGER NOT NULL,
  grid_col INTEGER NOT NULL,
  label TEXT NOT NULL CHECK (label IN ('good', 'bad')),
  model_id TEXT NOT NULL,
  PRIMARY KEY (run_id, agent_id)
) WITHOUT ROWID;

-- Internal memory. round -1 holds the prior world view; a round's writes are read from round + 1 on.
-- The primary key keeps the first answer stored for a question. Question embeddings live once per
-- text in simulation_embeddings (agents share most prior questions).
CREATE TABLE simulation_memories (
  run_id TEXT NOT NULL REFERENCES runs(run_id),
  agent_id INTEGER NOT NULL,
  question TEXT NOT NULL,
  answer TEXT NOT NULL,
  round INTEGER NOT NULL,
  position INTEGER NOT NULL,
  PRIMARY KEY (run_id, agent_id, question)
) WITHOUT ROWID;

CREATE TABLE simulation_interactions (
  run_id TEXT NOT NULL REFERENCES runs(run_id),
  round INTEGER NOT NULL,
  agent_id INTEGER NOT NULL,
  question TEXT NOT NULL,
  target_ids_json TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('running', 'complete')),
  started_at INTEGER NOT NULL,
  completed_at INTEGER,
  record_json TEXT,
  PRIMARY KEY (run_id, round, agent_id)
) WITHOUT ROWID;

-- One row per completed step: draft, observer ratings, each peer rating (peer_id >= 0), revision.
CREATE TABLE simulation_steps (
  run_id TEXT NOT NULL,
  round INTEGER NOT NULL,
  agent_id INTEGER NOT NULL,
  step TEXT NOT NULL,
  peer_id INTEGER NOT NULL DEFAULT -1,
  payload_json TEXT NOT NULL,
  completed_at INTEGER NOT NULL,
  PRIMARY KEY (run_id, round, agent_id, step, peer_id),
  FOREIGN KEY (run_id, round, agent_id) REFERENCES simulation_interactions(run_id, round, agent_id)
) WITHOUT ROWID;

-- A round is complete once every interaction is; records_bytes is the size of records.jsonl after
-- the round's lines were appended, so a resumed run can cut off lines of an unfinished barrier.
CREATE TABLE simulation_rounds (
  run_id TEXT NOT NULL REFERENCES runs(run_id),
  round INTEGER NOT NULL,
  summary_json TEXT NOT NULL,
  records_bytes INTEGER NOT NULL,
  completed_at INTEGER NOT NULL,
  PRIMARY KEY (run_id, round)
) WITHOUT ROWID;

CREATE TABLE simulation_events (
  id INTEGER PRIMARY KEY,
  run_id TEXT NOT NULL REFERENCES runs(run_id),
  kind TEXT NOT NULL,
  round INTEGER,
  agent_id INTEGER,
  payload_json TEXT,
  created_at INTEGER NOT NULL
);
CREATE INDEX simulation_events_by_run ON simulation_events(run_id, id);

-- Embeddings by embedder and text hash, so a resumed run never asks the embedder twice.
CREATE TABLE simulation_embeddings (
  model_id TEXT NOT NULL,
  text_sha256 TEXT NOT NULL,
  vector BLOB NOT NULL,
  PRIMARY KEY (model_id, text_sha256)
) WITHOUT ROWID;
`;
