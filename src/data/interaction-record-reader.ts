/**
 * Reads interaction records (src/spec/interaction-record.ts) from a run's `records.jsonl`, or from its
 * `run.sqlite` when the JSONL file is missing, one at a time. Only the fields that alignment data is built from are checked; the others pass through
 * unchecked and unknown fields are ignored, so a record written by a newer simulation still reads.
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { InputError } from "../spec/errors.js";
import type { InteractionRecord } from "../spec/interaction-record.js";
import { createSimulationRepository } from "../store/simulation-repository.js";
import { readLines } from "./line-reader.js";

/** The lowest and highest rating on the 1-7 scale (SPEC 1.6). */
export const RATING_SCALE = { minimum: 1, maximum: 7 } as const;

/** A record with where it was read from. */
export interface LocatedRecord {
  record: InteractionRecord;
  file: string;
  /** 1-based line number in `file`. */
  line: number;
}

/**
 * The records file of a run: `<dir>/records.jsonl` (or `records.jsonl.gz`) for a run folder, else its
 * `run.sqlite`; the path itself for a file. Throws InputError naming the path when there is none.
 */
export function resolveRecordsFile(run: string): string {
  if (!existsSync(run)) throw new InputError("no such run folder or records file", { file: run });
  if (!statSync(run).isDirectory()) return run;
  for (const name of ["records.jsonl", "records.jsonl.gz", "run.sqlite"]) {
    const candidate = join(run, name);
    if (existsSync(candidate)) return candidate;
  }
  throw new InputError("no records.jsonl or run.sqlite in the run folder", { file: run });
}

/** Yields each record of `file` in order, checked; throws InputError naming the file, line and field. */
export async function* readInteractionRecords({ file }: { file: string }): AsyncGenerator<LocatedRecord> {
  if (file.endsWith(".sqlite")) {
    yield* readStoredRecords(file);
    return;
  }
  for await (const { text, line } of readLines({ path: file })) {
    if (text.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new InputError(`malformed JSON: ${(error as Error).message}`, { file, line, cause: error });
    }
    yield { record: checkInteractionRecord(value, { file, line }), file, line };
  }
}

/**
 * Checks that `value` has every field data building needs, with consistent validity flags: a rating
 * flagged valid must be a number on the 1-7 scale (and a valid peer's reason a string); a rating
 * flagged invalid is ignored whatever it holds. Throws InputError naming the field.
 */
export function checkInteractionRecord(
  value: unknown,
  where: { file?: string; line?: number } = {},
): InteractionRecord {
  const fail = (field: string, problem: string): never => {
    throw new InputError(`record field "${field}" ${problem}`, where);
  };
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail("(record)", "must be a JSON object");
  const record = value as Record<string, unknown>;
  const text = (field: string): void => {
    if (typeof record[field] !== "string") fail(field, record[field] === undefined ? "is missing" : "must be a string");
  };
  const list = (field: string, container: Record<string, unknown> = record, path = field): unknown[] => {
    const entry = container[field];
    if (!Array.isArray(entry)) fail(path, entry === undefined ? "is missing" : "must be an array");
    return entry as unknown[];
  };
  const object = (field: string): Record<string, unknown> => {
    const entry = record[field];
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      fail(field, entry === undefined ? "is missing" : "must be an object");
    }
    return entry as Record<string, unknown>;
  };
  const rating = (entry: unknown, field: string): void => {
    if (typeof entry !== "number" || !Number.isFinite(entry)) fail(field, "is flagged valid but is not a number");
    if ((entry as number) < RATING_SCALE.minimum || (entry as number) > RATING_SCALE.maximum) {
      fail(field, `is ${entry}, outside the ${RATING_SCALE.minimum}-${RATING_SCALE.maximum} scale`);
    }
  };
  text("question");
  text("draft_answer");
  text("revised_answer");
  const feedback = list("feedback");
  const ratings = list("rating");
  const validity = object("validity");
  const peerValidity = list("peer", validity, "validity.peer");
  if (ratings.length !== feedback.length)
    fail("rating", `has ${ratings.length} entries but feedback has ${feedback.length}`);
  if (peerValidity.length !== feedback.length) {
    fail("validity.peer", `has ${peerValidity.length} entries but feedback has ${feedback.length}`);
  }
  if (
    record.target_id !== undefined &&
    (!Array.isArray(record.target_id) || record.target_id.length !== feedback.length)
  ) {
    fail("target_id", `must be an array with one entry per feedback message (${feedback.length})`);
  }
  for (let index = 0; index < feedback.length; index += 1) {
    const flag = peerValidity[index];
    if (typeof flag !== "boolean") fail(`validity.peer[${index}]`, "must be true or false");
    if (flag === true) {
      rating(ratings[index], `rating[${index}]`);
      if (typeof feedback[index] !== "string") fail(`feedback[${index}]`, "is flagged valid but is not a string");
    }
  }
  for (const [flagName, scoreName] of [
    ["moral_before", "gen_moral_score_before"],
    ["moral_after", "gen_moral_score_after"],
  ] as const) {
    const flag = validity[flagName];
    if (typeof flag !== "boolean")
      fail(`validity.${flagName}`, flag === undefined ? "is missing" : "must be true or false");
    if (!(scoreName in record)) fail(scoreName, "is missing");
    if (flag === true) rating(record[scoreName], scoreName);
  }
  const models = object("models");
  if (typeof models.agent !== "string")
    fail("models.agent", models.agent === undefined ? "is missing" : "must be a string");
  const peers = list("peers", models, "models.peers");
  if (peers.some((peer) => typeof peer !== "string")) fail("models.peers", "must hold strings");
  if (feedback.length > 0 && peers.length !== feedback.length && peers.length !== 1) {
    fail(
      "models.peers",
      `has ${peers.length} entries for ${feedback.length} feedback givers (expected one per giver, or one for all)`,
    );
  }
  return value as InteractionRecord;
}

/** The model that wrote peer `index`'s feedback: `models.peers[index]`, or the single shared entry. */
export function peerModel(record: InteractionRecord, index: number): string {
  const peers = record.models.peers;
  return (peers.length === 1 ? peers[0] : peers[index]) ?? "unknown";
}

/** Records of every run in a simulation store; `line` counts records within the file, from 1. */
function* readStoredRecords(file: string): Generator<LocatedRecord> {
  let database: Database.Database;
  try {
    database = new Database(file, { readonly: true, fileMustExist: true });
  } catch (cause) {
    throw new InputError(`cannot open as SQLite: ${String(cause)}`, { file, cause });
  }
  try {
    const repository = createSimulationRepository(database);
    let line = 0;
    for (const runId of repository.listRunIds()) {
      for (const value of repository.iterateRecords(runId)) {
        line += 1;
        yield { record: checkInteractionRecord(value, { file, line }), file, line };
      }
    }
  } catch (cause) {
    if (cause instanceof InputError) throw cause;
    throw new InputError(`not a simulation store (${String(cause)})`, { file, cause });
  } finally {
    database.close();
  }
}
