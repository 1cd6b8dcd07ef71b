/**
 * The rules of SPEC 2 that turn one interaction record into candidate training rows, one prompt per
 * kind. Grouping by prompt across records and dropping duplicate responses happen later (see
 * example-grouper.ts); this file decides which responses exist at all and why the others do not.
 */
import type { AlignmentDataKind } from "../spec/alignment-data.js";
import type { InteractionRecord } from "../spec/interaction-record.js";
import type { DataTemplates } from "./data-templates.js";
import { peerModel } from "./interaction-record-reader.js";

/** The three kinds, in the order they are built and written. */
export const ALIGNMENT_DATA_KINDS: readonly AlignmentDataKind[] = ["imitation", "self-critic", "realignment"];

/**
 * Realignment rows need the observer's alignment score after revision to exceed this (SPEC 2:
 * "after > 4"), as well as to exceed the score before.
 */
export const REALIGNMENT_SCORE_FLOOR = 4;

/** Why a candidate response did not become a row. */
export type DropReason =
  /** The observer score that would rate it (or, for Realignment, either observer score) is invalid. */
  | "invalid-observer-rating"
  /** The peer's rating is invalid, so its reason is not used either. */
  | "invalid-peer-rating"
  /** The draft is empty: no Imitation response, and no input for Self-Critic or Realignment. */
  | "empty-draft"
  /** The revision is empty. */
  | "empty-revision"
  /** The peer's reason is empty. */
  | "empty-feedback"
  /** Realignment only: the score after is not above the score before. */
  | "not-improved"
  /** Realignment only: the score after is not above REALIGNMENT_SCORE_FLOOR. */
  | "score-after-too-low"
  /** The same response text already exists under the same prompt. */
  | "duplicate";

/** Every drop reason, in report order. */
export const DROP_REASONS: readonly DropReason[] = [
  "invalid-observer-rating",
  "invalid-peer-rating",
  "empty-draft",
  "empty-revision",
  "empty-feedback",
  "not-improved",
  "score-after-too-low",
  "duplicate",
];

/** Dropped candidate responses per kind and reason. */
export type DropCounts = Record<AlignmentDataKind, Record<DropReason, number>>;

/** All-zero drop counts. */
export function createDropCounts(): DropCounts {
  const zero = (): Record<DropReason, number> =>
    Object.fromEntries(DROP_REASONS.map((reason) => [reason, 0])) as Record<DropReason, number>;
  return { imitation: zero(), "self-critic": zero(), realignment: zero() };
}

/** One response with its 1-7 score and the model that wrote it. */
export interface RatedResponse {
  response: string;
  score: number;
  model: string;
}

/** The rows one record contributes to one kind: a prompt and its rated responses, in order. */
export interface RecordRows {
  kind: AlignmentDataKind;
  query: string;
  responses: RatedResponse[];
  /** The record's question: the row's source id. */
  source: string;
}

function isBlank(text: string | null | undefined): boolean {
  return text === null || text === undefined || text.trim() === "";
}

/**
 * The candidate rows of one record for each requested kind (kinds without any response are left
 * out), adding to `drops` one count per candidate response that the rules exclude.
 *
 * - Imitation: the draft rated by the observer's alignment score before, the revision by the score after.
 * - Self-Critic: per valid peer, its reason rated by its rating, written by the peer's model.
 * - Realignment: when after > before and after > 4, per valid peer reason: reason, announcing
 *   phrase, revision, rated by the score after, written by the centre agent's model.
 */
export function rowsFromRecord(
  record: InteractionRecord,
  {
    templates,
    kinds = ALIGNMENT_DATA_KINDS,
    drops = createDropCounts(),
  }: { templates: DataTemplates; kinds?: readonly AlignmentDataKind[]; drops?: DropCounts },
): RecordRows[] {
  const rows: RecordRows[] = [];
  const agentModel = record.models.agent;
  const before = record.validity.moral_before ? record.gen_moral_score_before : null;
  const after = record.validity.moral_after ? record.gen_moral_score_after : null;
  const draftBlank = isBlank(record.draft_answer);
  const revisionBlank = isBlank(record.revised_answer);
  const peerCount = record.feedback.length;
  const peerValid = (index: number): boolean =>
    record.validity.peer[index] === true && typeof record.rating[index] === "number";

  if (kinds.includes("imitation")) {
    const counts = drops.imitation;
    const responses: RatedResponse[] = [];
    if (before === null) counts["invalid-observer-rating"] += 1;
    else if (draftBlank) counts["empty-draft"] += 1;
    else responses.push({ response: record.draft_answer, score: before, model: agentModel });
    if (after === null) counts["invalid-observer-rating"] += 1;
    else if (revisionBlank) counts["empty-revision"] += 1;
    else responses.push({ response: record.revised_answer, score: after, model: agentModel });
    if (responses.length > 0) {
      rows.push({
        kind: "imitation",
        query: templates.renderImitationPrompt(record.question),
        responses,
        source: record.question,
      });
    }
  }

  if (kinds.includes("self-critic") && peerCount > 0) {
    const counts = drops["self-critic"];
    const responses: RatedResponse[] = [];
    for (let index = 0; index < peerCount; index += 1) {
      const reason = record.feedback[index];
      if (!peerValid(index)) counts["invalid-peer-rating"] += 1;
      else if (draftBlank) counts["empty-draft"] += 1;
      else if (isBlank(reason)) counts["empty-feedback"] += 1;
      else
        responses.push({
          response: reason as string,
          score: record.rating[index] as number,
          model: peerModel(record, index),
        });
    }
    if (responses.length > 0) {
      rows.push({
        kind: "self-critic",
        query: templates.renderSelfCriticPrompt(record.question, record.draft_answer),
        responses,
        source: record.question,
      });
    }
  }

  if (kinds.includes("realignment") && peerCount > 0) {
    const counts = drops.realignment;
    let recordReason: DropReason | undefined;
    if (before === null || after === null) recordReason = "invalid-observer-rating";
    else if (!(after > before)) recordReason = "not-improved";
    else if (!(after > REALIGNMENT_SCORE_FLOOR)) recordReason = "score-after-too-low";
    else if (draftBlank) recordReason = "empty-draft";
    else if (revisionBlank) recordReason = "empty-revision";
    if (recordReason !== undefined) {
      counts[recordReason] += peerCount;
    } else {
      const responses: RatedResponse[] = [];
      for (let index = 0; index < peerCount; index += 1) {
        const reason = record.feedback[index];
        if (!peerValid(index)) counts["invalid-peer-rating"] += 1;
        else if (isBlank(reason)) counts["empty-feedback"] += 1;
        else {
          responses.push({
            response: templates.renderRealignmentResponse(reason as string, record.revised_answer),
            score: after as number,
            model: agentModel,
          });
        }
      }
      if (responses.length > 0) {
        rows.push({
          kind: "realignment",
          query: templates.renderRealignmentPrompt(record.question, record.draft_answer),
          responses,
          source: record.question,
        });
      }
    }
  }
  return rows;
}
