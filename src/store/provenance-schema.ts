/**
 * Migration 7: provenance of a SANDBOX interaction, for the web app's interaction page.
 * - `lm_usage` rows carry the call identity, parsed into run, round, agent, step kind and target
 *   agent, plus the call's retries. Rows written before the migration keep NULL there.
 * - `simulation_retrievals`: the memories each agent of an interaction retrieved (the centre agent
 *   for its draft, each peer for its rating), ranked from 1.
 * - `simulation_interactions` gains the four observer scores as columns (filled from the stored
 *   records for older runs), so grid and round queries never parse record JSON, and
 *   `provenance_recorded` (1 once an interaction completed under this schema): NULL means its
 *   retrievals were not recorded, as opposed to none retrieved; an index covers the score columns.
 */
export const PROVENANCE_SCHEMA_SQL = `
ALTER TABLE lm_usage ADD COLUMN call_identity TEXT;
ALTER TABLE lm_usage ADD COLUMN run_id TEXT;
ALTER TABLE lm_usage ADD COLUMN round INTEGER;
ALTER TABLE lm_usage ADD COLUMN agent_id INTEGER;
ALTER TABLE lm_usage ADD COLUMN step TEXT;
ALTER TABLE lm_usage ADD COLUMN step_kind TEXT;
ALTER TABLE lm_usage ADD COLUMN target_agent_id INTEGER;
ALTER TABLE lm_usage ADD COLUMN retries INTEGER;
CREATE INDEX lm_usage_by_interaction ON lm_usage(run_id, round, agent_id) WHERE run_id IS NOT NULL;

CREATE TABLE simulation_retrievals (
  run_id TEXT NOT NULL,
  round INTEGER NOT NULL,
  agent_id INTEGER NOT NULL,
  retriever_id INTEGER NOT NULL,
  rank INTEGER NOT NULL,
  question TEXT NOT NULL,
  answer TEXT NOT NULL,
  similarity REAL NOT NULL,
  source_round INTEGER NOT NULL,
  PRIMARY KEY (run_id, round, agent_id, retriever_id, rank),
  FOREIGN KEY (run_id, round, agent_id) REFERENCES simulation_interactions(run_id, round, agent_id)
) WITHOUT ROWID;

ALTER TABLE simulation_interactions ADD COLUMN alignment_before REAL;
ALTER TABLE simulation_interactions ADD COLUMN alignment_after REAL;
ALTER TABLE simulation_interactions ADD COLUMN engagement_before REAL;
ALTER TABLE simulation_interactions ADD COLUMN engagement_after REAL;
ALTER TABLE simulation_interactions ADD COLUMN provenance_recorded INTEGER;
UPDATE simulation_interactions SET
  alignment_before = json_extract(record_json, '$.gen_moral_score_before'),
  alignment_after = json_extract(record_json, '$.gen_moral_score_after'),
  engagement_before = json_extract(record_json, '$.gen_engagement_score_before'),
  engagement_after = json_extract(record_json, '$.gen_engagement_score_after')
WHERE record_json IS NOT NULL;
-- Covers the grid and per-round queries: the score columns sit after the record JSON in the table
-- row, so reading them there walks its overflow pages.
CREATE INDEX simulation_interaction_scores ON simulation_interactions
  (run_id, round, agent_id, status, alignment_before, alignment_after, engagement_before, engagement_after);
`;
