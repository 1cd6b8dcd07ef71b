/**
 * Reads and writes a human-evaluation study (human-eval-schema.ts, migration 8). Synchronous
 * (better-sqlite3). Votes are only ever inserted; a rater's current vote on an item is their latest.
 */
import type Database from "better-sqlite3";

/** One blind item: two answers to one prompt (`pair`), or a gold pair whose first answer is better. */
export interface StudyItem {
  itemId: string;
  kind: "pair" | "gold";
  /** Where the answers came from: the evaluation directory, or the gold file. */
  source: string;
  benchmark: string;
  sourceItemId: string;
  question: string;
  prompt: string;
  firstModel: string;
  secondModel: string;
  firstAnswer: string;
  secondAnswer: string;
  /** Identity words found in either answer (flagged for review); empty when none. */
  flags: string[];
}

/** One item of a rater's list, as shown. */
export interface StudyAssignment {
  raterId: string;
  position: number;
  itemId: string;
  /** True when the item's first answer is shown as B. */
  swapped: boolean;
  /** When the rater first opened the item (ms since the epoch); undefined before. */
  shownAt: number | undefined;
}

/** A vote as the rater gave it (A is the answer shown on the left). */
export interface StudyVote {
  voteId: number;
  raterId: string;
  itemId: string;
  choice: "A" | "B" | "tie" | "both-bad";
  ratingA: number | undefined;
  ratingB: number | undefined;
  reason: string;
  /** Seconds from first shown to this vote. */
  seconds: number;
  createdAt: number;
}

/** The study row. */
export interface StudyRecord {
  studyId: string;
  config: unknown;
  /** Key of the CSRF tokens (hex). */
  secret: string;
  adminTokenSha256: string;
}

/** The repository. */
export interface HumanEvalRepository {
  /** Writes the whole study in one transaction (nothing is half-written). */
  createStudy(input: {
    study: StudyRecord;
    items: readonly StudyItem[];
    raters: readonly { raterId: string; tokenSha256: string }[];
    assignments: readonly Omit<StudyAssignment, "shownAt">[];
  }): void;
  /** The study of this file; undefined for a file without one. */
  loadStudy(): StudyRecord | undefined;
  loadItems(): StudyItem[];
  loadRaters(): { raterId: string; tokenSha256: string }[];
  findRaterByTokenHash(tokenSha256: string): string | undefined;
  /** A rater's items in the order shown. */
  loadAssignments(raterId: string): StudyAssignment[];
  /** Every rater's items. */
  loadAllAssignments(): StudyAssignment[];
  /** Records the first time a rater opened an item (later calls keep the first time). */
  markShown(input: { raterId: string; itemId: string; at: number }): void;
  /** Appends a vote. */
  addVote(input: Omit<StudyVote, "voteId">): void;
  /** Current votes (the latest per rater and item), of one rater or of all. */
  loadCurrentVotes(input?: { raterId?: string }): StudyVote[];
  /** Every vote row ever given, in order. */
  loadVoteHistory(): StudyVote[];
}

interface ItemRow {
  item_id: string;
  kind: "pair" | "gold";
  source: string;
  benchmark: string;
  source_item_id: string;
  question: string;
  prompt: string;
  first_model: string;
  second_model: string;
  first_answer: string;
  second_answer: string;
  flags: string;
}

interface VoteRow {
  vote_id: number;
  rater_id: string;
  item_id: string;
  choice: StudyVote["choice"];
  rating_a: number | null;
  rating_b: number | null;
  reason: string;
  seconds: number;
  created_at: number;
}

interface AssignmentRow {
  rater_id: string;
  position: number;
  item_id: string;
  swapped: number;
  shown_at: number | null;
}

function toAssignment(row: AssignmentRow): StudyAssignment {
  return {
    raterId: row.rater_id,
    position: row.position,
    itemId: row.item_id,
    swapped: row.swapped === 1,
    shownAt: row.shown_at ?? undefined,
  };
}

function toVote(row: VoteRow): StudyVote {
  return {
    voteId: row.vote_id,
    raterId: row.rater_id,
    itemId: row.item_id,
    choice: row.choice,
    ratingA: row.rating_a ?? undefined,
    ratingB: row.rating_b ?? undefined,
    reason: row.reason,
    seconds: row.seconds,
    createdAt: row.created_at,
  };
}

/** Creates the repository on an open database (migration 8 applied); one study per file. */
export function createHumanEvalRepository({ database }: { database: Database.Database }): HumanEvalRepository {
  const assignmentColumns = "rater_id, position, item_id, swapped, shown_at";
  const voteColumns = "vote_id, rater_id, item_id, choice, rating_a, rating_b, reason, seconds, created_at";
  const selectStudy = database.prepare<
    [],
    { study_id: string; config_json: string; secret: string; admin_token_sha256: string }
  >("SELECT study_id, config_json, secret, admin_token_sha256 FROM human_studies LIMIT 1");
  const insertStudy = database.prepare(
    "INSERT INTO human_studies (study_id, config_json, secret, admin_token_sha256, created_at) VALUES (?, ?, ?, ?, ?)",
  );
  const insertItem = database.prepare(
    `INSERT INTO human_items (study_id, item_id, position, kind, source, benchmark, source_item_id, question, prompt,
       first_model, second_model, first_answer, second_answer, flags) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertRater = database.prepare(
    "INSERT INTO human_raters (study_id, rater_id, position, token_sha256, created_at) VALUES (?, ?, ?, ?, ?)",
  );
  const insertAssignment = database.prepare(
    "INSERT INTO human_assignments (study_id, rater_id, position, item_id, swapped) VALUES (?, ?, ?, ?, ?)",
  );
  const selectItems = database.prepare<[string], ItemRow>(
    `SELECT item_id, kind, source, benchmark, source_item_id, question, prompt, first_model, second_model,
            first_answer, second_answer, flags FROM human_items WHERE study_id = ? ORDER BY position`,
  );
  const selectRaters = database.prepare<[string], { rater_id: string; token_sha256: string }>(
    "SELECT rater_id, token_sha256 FROM human_raters WHERE study_id = ? ORDER BY position",
  );
  const selectRaterByTokenHash = database.prepare<[string], { rater_id: string }>(
    "SELECT rater_id FROM human_raters WHERE token_sha256 = ?",
  );
  const selectAssignments = database.prepare<[string, string], AssignmentRow>(
    `SELECT ${assignmentColumns} FROM human_assignments WHERE study_id = ? AND rater_id = ? ORDER BY position`,
  );
  const selectAllAssignments = database.prepare<[string], AssignmentRow>(
    `SELECT ${assignmentColumns} FROM human_assignments WHERE study_id = ? ORDER BY rater_id, position`,
  );
  const updateShown = database.prepare(
    "UPDATE human_assignments SET shown_at = ? WHERE study_id = ? AND rater_id = ? AND item_id = ? AND shown_at IS NULL",
  );
  const insertVote = database.prepare(
    `INSERT INTO human_votes (study_id, rater_id, item_id, choice, rating_a, rating_b, reason, seconds, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const selectCurrentVotes = database.prepare<[string, string | null, string | null], VoteRow>(
    `SELECT ${voteColumns} FROM human_votes v WHERE study_id = ? AND (? IS NULL OR rater_id = ?)
       AND vote_id = (SELECT MAX(vote_id) FROM human_votes w
                       WHERE w.study_id = v.study_id AND w.rater_id = v.rater_id AND w.item_id = v.item_id)
     ORDER BY vote_id`,
  );
  const selectVoteHistory = database.prepare<[string], VoteRow>(
    `SELECT ${voteColumns} FROM human_votes WHERE study_id = ? ORDER BY vote_id`,
  );
  // The file's one study never changes once written, so its id is read once it exists.
  let knownStudyId: string | undefined;
  const studyId = (): string => {
    if (knownStudyId === undefined) {
      const row = selectStudy.get();
      if (row === undefined) throw new RangeError("this store holds no study");
      knownStudyId = row.study_id;
    }
    return knownStudyId;
  };
  return {
    createStudy({ study, items, raters, assignments }) {
      const now = Date.now();
      database.transaction(() => {
        insertStudy.run(study.studyId, JSON.stringify(study.config), study.secret, study.adminTokenSha256, now);
        items.forEach((item, position) => {
          insertItem.run(
            study.studyId,
            item.itemId,
            position,
            item.kind,
            item.source,
            item.benchmark,
            item.sourceItemId,
            item.question,
            item.prompt,
            item.firstModel,
            item.secondModel,
            item.firstAnswer,
            item.secondAnswer,
            item.flags.join(","),
          );
        });
        raters.forEach((rater, position) => {
          insertRater.run(study.studyId, rater.raterId, position, rater.tokenSha256, now);
        });
        for (const assignment of assignments) {
          insertAssignment.run(
            study.studyId,
            assignment.raterId,
            assignment.position,
            assignment.itemId,
            assignment.swapped ? 1 : 0,
          );
        }
      })();
    },
    loadStudy() {
      const row = selectStudy.get();
      if (row === undefined) return undefined;
      knownStudyId = row.study_id;
      return {
        studyId: row.study_id,
        config: JSON.parse(row.config_json),
        secret: row.secret,
        adminTokenSha256: row.admin_token_sha256,
      };
    },
    loadItems() {
      return selectItems.all(studyId()).map((row) => ({
        itemId: row.item_id,
        kind: row.kind,
        source: row.source,
        benchmark: row.benchmark,
        sourceItemId: row.source_item_id,
        question: row.question,
        prompt: row.prompt,
        firstModel: row.first_model,
        secondModel: row.second_model,
        firstAnswer: row.first_answer,
        secondAnswer: row.second_answer,
        flags: row.flags === "" ? [] : row.flags.split(","),
      }));
    },
    loadRaters() {
      return selectRaters.all(studyId()).map((row) => ({ raterId: row.rater_id, tokenSha256: row.token_sha256 }));
    },
    findRaterByTokenHash(tokenSha256) {
      return selectRaterByTokenHash.get(tokenSha256)?.rater_id;
    },
    loadAssignments(raterId) {
      return selectAssignments.all(studyId(), raterId).map(toAssignment);
    },
    loadAllAssignments() {
      return selectAllAssignments.all(studyId()).map(toAssignment);
    },
    markShown({ raterId, itemId, at }) {
      updateShown.run(at, studyId(), raterId, itemId);
    },
    addVote(vote) {
      insertVote.run(
        studyId(),
        vote.raterId,
        vote.itemId,
        vote.choice,
        vote.ratingA ?? null,
        vote.ratingB ?? null,
        vote.reason,
        vote.seconds,
        vote.createdAt,
      );
    },
    loadCurrentVotes({ raterId } = {}) {
      return selectCurrentVotes.all(studyId(), raterId ?? null, raterId ?? null).map(toVote);
    },
    loadVoteHistory() {
      return selectVoteHistory.all(studyId()).map(toVote);
    },
  };
}
