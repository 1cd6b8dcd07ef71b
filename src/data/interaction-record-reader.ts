/**
 * Reads interaction records (src/spec/interaction-record.ts) from a run's `records.jsonl`, from its
 * `run.sqlite` when the JSONL file is missing, or from the reference implementation's per-agent
 * files (reference-records.ts), one at a time. Only the fields that alignment data is built from are
 * checked; the others pass through unchecked and unknown fields are ignored, so a record written by a
 * newer simulation still reads. A record without `validity` (the reference's) gets it from its
 * values; one without `models` gets unknown models.
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { InputError } from "../spec/errors.js";
import type { InteractionRecord } from "../spec/interaction-record.js";
import { createSimulationRepository } from "../store/simulation-repository.js";
import { readJsonValues } from "./json-values-reader.js";
import { referenceMemoryFiles, UNKNOWN_MODEL, UNKNOWN_MODELS, validityFromValues } from "./reference-records.js";

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
 * The records files of a run: for a run folder `<dir>/records.jsonl` (or `records.jsonl.gz`), else
 * its `run.sqlite`, else the reference layout's `external_memory/agent_<id>.jsonl` files in agent
 * order; the path itself for a file. Throws InputError naming the path when there is none.
 */
export function resolveRecordsFiles(run: string): string[] {
  if (!existsSync(run)) throw new InputError("no such run folder or records file", { file: run });
  if (!statSync(run).isDirectory()) return [run];
  for (const name of ["records.jsonl", "records.jsonl.gz", "run.sqlite"]) {
    const candidate = join(run, name);
    if (existsSync(candidate)) return [candidate];
  }
  const reference = referenceMemoryFiles(run);
  if (reference.length > 0) return reference;
  throw new InputError("no records.jsonl, run.sqlite or external_memory/agent_*.jsonl in the run folder", {
    file: run,
  });
}

/**
 * Yields each record of `file` in order, checked; throws InputError naming the file, line and field.
 * The file is JSON Lines or a JSON array of records (gzip read directly), or a run.sqlite store.
 */
export async function* readInteractionRecords({ file }: { file: string }): AsyncGenerator<LocatedRecord> {
  if (file.endsWith(".sqlite")) {
    yield* readStoredRecords(file);
    return;
  }
  for await (const { value, line } of readJsonValues({ path: file })) {
    yield { record: checkInteractionRecord(value, { file, line }), file, line };
  }
}

/**
 * Checks that `value` has every field data building needs, with consistent validity flags: a rating
 * flagged valid must be a number on the 1-7 scale (and a valid peer's reason a string); a rating
 * flagged invalid is ignored whatever it holds. Without `validity` (the reference's records) the
 * flags come from the values: a whole number on 1-7, as a number or a numeric string, is valid and
 * anything else (the reference's 8 and -1) invalid. Without `models`, every model is unknown.
 * Returns the record with those fields filled in. Throws InputError naming the field.
 */
export function checkInteractionRecord(
  value: unknown,
  where: { file?: string; line?: number } = {},
): InteractionRecord {
  const fail = (field: string, problem: string): never => {
    throw new InputError(`record field "${field}" ${problem}`, where);
  };
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail("(record)", "must be a JSON object");
  let record = value as Record<string, unknown>;
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
  list("feedback");
  list("rating");
  if (record.validity === undefined) record = { ...record, ...validityFromValues(record) };
  if (record.models === undefined) record = { ...record, models: structuredClone(UNKNOWN_MODELS) };
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
  return record as unknown as InteractionRecord;
}

/** The model that wrote peer `index`'s feedback: `models.peers[index]`, or the single shared entry. */
export function peerModel(record: InteractionRecord, index: number): string {
  const peers = record.models.peers;
  return (peers.length === 1 ? peers[0] : peers[index]) ?? UNKNOWN_MODEL;
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
