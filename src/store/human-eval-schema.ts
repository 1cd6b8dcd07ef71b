/**
 * Tables of a blind human-evaluation study (migration 8), in `<study>/study.sqlite`: the study's
 * settings fixed at creation (seed, exclusion rules, secret of the CSRF tokens), its items (two
 * answers to one prompt, or a gold pair with a known better answer), raters (only a SHA-256 hash of
 * each private token), each rater's items in the order and sides shown, and the votes, append-only:
 * a changed vote is a new row and the latest counts; triggers refuse UPDATE and DELETE.
 */
export const HUMAN_EVAL_SCHEMA_SQL = `
CREATE TABLE human_studies (
  study_id TEXT PRIMARY KEY,
  config_json TEXT NOT NULL,
  secret TEXT NOT NULL,
  admin_token_sha256 TEXT NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;

-- kind: pair (first_model vs second_model) | gold (first is the better answer). flags: identity
-- words found in either answer, comma-separated, '' when none.
CREATE TABLE human_items (
  study_id TEXT NOT NULL REFERENCES human_studies(study_id),
  item_id TEXT NOT NULL,
  position INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('pair', 'gold')),
  source TEXT NOT NULL,
  benchmark TEXT NOT NULL,
  source_item_id TEXT NOT NULL,
  question TEXT NOT NULL,
  prompt TEXT NOT NULL,
  first_model TEXT NOT NULL,
  second_model TEXT NOT NULL,
  first_answer TEXT NOT NULL,
  second_answer TEXT NOT NULL,
  flags TEXT NOT NULL,
  PRIMARY KEY (study_id, item_id)
) WITHOUT ROWID;

CREATE TABLE human_raters (
  study_id TEXT NOT NULL REFERENCES human_studies(study_id),
  rater_id TEXT NOT NULL,
  position INTEGER NOT NULL,
  token_sha256 TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (study_id, rater_id)
) WITHOUT ROWID;

-- swapped = 1: the item's first answer is shown as B. shown_at: when the rater first opened it (ms).
CREATE TABLE human_assignments (
  study_id TEXT NOT NULL,
  rater_id TEXT NOT NULL,
  position INTEGER NOT NULL,
  item_id TEXT NOT NULL,
  swapped INTEGER NOT NULL CHECK (swapped IN (0, 1)),
  shown_at INTEGER,
  PRIMARY KEY (study_id, rater_id, position),
  UNIQUE (study_id, rater_id, item_id),
  FOREIGN KEY (study_id, rater_id) REFERENCES human_raters(study_id, rater_id),
  FOREIGN KEY (study_id, item_id) REFERENCES human_items(study_id, item_id)
) WITHOUT ROWID;

-- choice and ratings as shown (A is the left answer the rater saw); seconds since first shown.
CREATE TABLE human_votes (
  vote_id INTEGER PRIMARY KEY AUTOINCREMENT,
  study_id TEXT NOT NULL,
  rater_id TEXT NOT NULL,
  item_id TEXT NOT NULL,
  choice TEXT NOT NULL CHECK (choice IN ('A', 'B', 'tie', 'both-bad')),
  rating_a INTEGER CHECK (rating_a BETWEEN 1 AND 7),
  rating_b INTEGER CHECK (rating_b BETWEEN 1 AND 7),
  reason TEXT NOT NULL,
  seconds REAL NOT NULL,
  created_at INTEGER NOT NULL,
  FOREIGN KEY (study_id, rater_id, item_id) REFERENCES human_assignments(study_id, rater_id, item_id)
);
CREATE INDEX human_votes_by_rater ON human_votes(study_id, rater_id, item_id, vote_id);
CREATE TRIGGER human_votes_no_update BEFORE UPDATE ON human_votes
  BEGIN SELECT RAISE(ABORT, 'human_votes is append-only: insert a new vote instead'); END;
CREATE TRIGGER human_votes_no_delete BEFORE DELETE ON human_votes
  BEGIN SELECT RAISE(ABORT, 'human_votes is append-only: votes are never deleted'); END;
`;
