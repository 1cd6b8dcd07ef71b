/**
 * What a rater can see and do, and nothing more: their own items in the order and sides stored for
 * them (answers labelled A and B only; model names never leave this module), their own current votes,
 * and new votes on their own items. CSRF tokens are an HMAC of the rater's id under the study's
 * secret; the admin token is compared by its SHA-256 hash in constant time.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { StudyVote } from "../../store/human-eval-repository.js";
import { hashToken } from "./create-study.js";
import type { OpenStudy } from "./open-study.js";

/** Longest reason kept (characters). */
export const MAX_REASON_LENGTH = 2000;

/** The choices of a vote, as shown. */
export const VOTE_CHOICES = ["A", "B", "tie", "both-bad"] as const;

/** One item as a rater sees it: no model names, no item kind. */
export interface RaterItemView {
  /** 1-based position in the rater's list. */
  number: number;
  itemId: string;
  question: string;
  answerA: string;
  answerB: string;
  vote: Pick<StudyVote, "choice" | "ratingA" | "ratingB" | "reason"> | undefined;
}

/** A rater's list. */
export interface RaterView {
  raterId: string;
  items: RaterItemView[];
  done: number;
  total: number;
}

/** The rater a token belongs to; undefined for an unknown token. */
export function raterOfToken({ study, token }: { study: OpenStudy; token: string }): string | undefined {
  return study.repository.findRaterByTokenHash(hashToken(token));
}

/** Whether `token` is the study's admin token. */
export function isAdminToken({ study, token }: { study: OpenStudy; token: string }): boolean {
  const given = Buffer.from(hashToken(token), "hex");
  const expected = Buffer.from(study.adminTokenSha256, "hex");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The CSRF token of a rater's forms. */
export function csrfToken({ study, raterId }: { study: OpenStudy; raterId: string }): string {
  return createHmac("sha256", Buffer.from(study.secret, "hex"))
    .update(`csrf\u0000${study.studyId}\u0000${raterId}`)
    .digest("base64url");
}

/** Whether a submitted CSRF token is the rater's (constant time). */
export function isCsrfToken({ study, raterId, token }: { study: OpenStudy; raterId: string; token: string }): boolean {
  const expected = Buffer.from(csrfToken({ study, raterId }));
  const given = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The rater's items with their current votes. */
export function raterView({ study, raterId }: { study: OpenStudy; raterId: string }): RaterView {
  const items = new Map(study.repository.loadItems().map((item) => [item.itemId, item]));
  const votes = new Map(study.repository.loadCurrentVotes({ raterId }).map((vote) => [vote.itemId, vote]));
  const views = study.repository.loadAssignments(raterId).map((assignment, index): RaterItemView => {
    const item = items.get(assignment.itemId);
    if (item === undefined) throw new RangeError(`assignment of unknown item ${assignment.itemId}`);
    const vote = votes.get(assignment.itemId);
    return {
      number: index + 1,
      itemId: item.itemId,
      question: item.prompt,
      answerA: assignment.swapped ? item.secondAnswer : item.firstAnswer,
      answerB: assignment.swapped ? item.firstAnswer : item.secondAnswer,
      vote:
        vote === undefined
          ? undefined
          : { choice: vote.choice, ratingA: vote.ratingA, ratingB: vote.ratingB, reason: vote.reason },
    };
  });
  return { raterId, items: views, done: votes.size, total: views.length };
}

/** Records that the rater opened the item (the first time counts for the seconds per item). */
export function markItemShown({
  study,
  raterId,
  itemId,
  now = Date.now(),
}: {
  study: OpenStudy;
  raterId: string;
  itemId: string;
  now?: number;
}): void {
  study.repository.markShown({ raterId, itemId, at: now });
}

/** A submitted form, untrusted. */
export interface VoteForm {
  itemId: string;
  choice: string;
  ratingA?: string;
  ratingB?: string;
  reason?: string;
}

/** Validates and appends a vote on one of the rater's own items; an error message names the field. */
export function submitVote({
  study,
  raterId,
  form,
  now = Date.now(),
}: {
  study: OpenStudy;
  raterId: string;
  form: VoteForm;
  now?: number;
}): { ok: true } | { ok: false; error: string } {
  const assignment = study.repository.loadAssignments(raterId).find((entry) => entry.itemId === form.itemId);
  if (assignment === undefined) return { ok: false, error: "item: not one of your items" };
  if (!(VOTE_CHOICES as readonly string[]).includes(form.choice)) {
    return { ok: false, error: `choice: must be one of ${VOTE_CHOICES.join(", ")}` };
  }
  const rating = (field: "ratingA" | "ratingB"): number | undefined | "bad" => {
    const text = form[field]?.trim() ?? "";
    if (text === "") return undefined;
    return /^[1-7]$/.test(text) ? Number(text) : "bad";
  };
  const ratingA = rating("ratingA");
  const ratingB = rating("ratingB");
  if (ratingA === "bad" || ratingB === "bad") return { ok: false, error: "rating: must be a whole number from 1 to 7" };
  const reason = form.reason ?? "";
  if (reason.length > MAX_REASON_LENGTH) return { ok: false, error: `reason: at most ${MAX_REASON_LENGTH} characters` };
  const shownAt = assignment.shownAt ?? now;
  study.repository.addVote({
    raterId,
    itemId: form.itemId,
    choice: form.choice as StudyVote["choice"],
    ratingA,
    ratingB,
    reason,
    seconds: Math.max(0, (now - shownAt) / 1000),
    createdAt: now,
  });
  return { ok: true };
}
