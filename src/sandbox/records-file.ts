/**
 * `records.jsonl` in the run directory: one line per interaction, in (round, agent) order, appended
 * as a round's interactions complete (the completed prefix in agent order, see
 * `createRoundRecordsAppender`) and finished at the round barrier. The database remembers the file's
 * size after every completed round.
 *
 * Invariant: outside the database's write lock the file holds exactly the lines of the completed
 * rounds, possibly followed by lines of the round in progress or the tail of an append that a kill
 * interrupted; the next change cuts those (a resumed round is written again at its barrier). Every change to the
 * file happens inside the lock (see `syncRecordsFile`), first cutting such a tail (or rewriting a file
 * that is missing or short), so a kill at any point, or a second process writing the same run, never
 * loses or doubles a line. Appending at the barrier keeps a round's write proportional to the round,
 * not to the run.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
  truncateSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { writeFileAtomically } from "../model/atomic-writer.js";
import type { InteractionRecord } from "../spec/interaction-record.js";
import type { SimulationRepository, StoredRound } from "../store/simulation-repository.js";

/** Current size of the file in bytes; 0 when it does not exist. */
export function fileSize(path: string): number {
  return existsSync(path) ? statSync(path).size : 0;
}

const linesOf = (records: readonly unknown[]): string =>
  records.map((record) => `${JSON.stringify(record)}\n`).join("");

/** Temporary files of rewrites by versions before the shared atomic writer (`records.jsonl.tmp-<pid>`). */
const legacyTemporaryPrefix = (path: string): string => `${basename(path)}.tmp-`;

/**
 * Makes the file hold exactly the lines of the completed rounds: cuts it to `expectedBytes` when it is
 * longer, and rewrites it (temporary file, then rename) from `rewrite()` (all completed records) when
 * it is shorter or missing. Removes temporary files of rewrites that a kill interrupted. Call it only
 * while holding the database's write lock, so no other writer is between a cut and its append.
 */
export function reconcileRecordsFile({
  path,
  expectedBytes,
  rewrite,
}: {
  path: string;
  expectedBytes: number;
  rewrite: () => readonly unknown[];
}): void {
  for (const name of readdirSync(dirname(path))) {
    if (name.startsWith(legacyTemporaryPrefix(path))) rmSync(join(dirname(path), name), { force: true });
  }
  const size = fileSize(path);
  if (size === expectedBytes && existsSync(path)) return;
  if (size > expectedBytes) {
    truncateSync(path, expectedBytes);
    return;
  }
  // Writes a temporary sibling, flushes it and renames it over the file (removing dead writers' leftovers).
  writeFileAtomically({ path, data: linesOf(rewrite()) });
}

/** Appends records, one JSON line each, flushed to disk; returns the file size afterwards. */
export function appendRecords(path: string, records: readonly unknown[]): number {
  const descriptor = openSync(path, "a");
  try {
    const text = linesOf(records);
    if (text !== "") writeSync(descriptor, text);
    fsyncSync(descriptor);
  } finally {
    closeSync(descriptor);
  }
  return fileSize(path);
}

/** What this process has appended of the round in progress: the first `agents` agents' lines, `bytes` long. */
export interface RoundPrefix {
  agents: number;
  bytes: number;
}

/** Appends a round's lines as its interactions complete; see {@link createRoundRecordsAppender}. */
export interface RoundRecordsAppender {
  /** Notes that `agentId`'s interaction is complete in the database (or will be once the current turn commits). */
  completed(agentId: number): void;
  /**
   * Appends the lines of the completed agents that extend the prefix, read from the database. Call it
   * under the database's write lock, after the completions are written. Stops for the rest of the
   * round (leaving the barrier to write it) when the file is not as this process left it.
   */
  appendReady(): void;
  /** What has been appended so far. */
  prefix(): RoundPrefix;
}

/**
 * Writes a fresh round's lines as they become ready: whenever agents 0..k-1 are all complete, their
 * lines go to the file in order, so the barrier appends only the stragglers. `baseBytes` is the file
 * size the completed rounds account for.
 */
export function createRoundRecordsAppender({
  path,
  repository,
  runId,
  round,
  baseBytes,
}: RecordsFileTarget & { round: number; baseBytes: number }): RoundRecordsAppender {
  const ready = new Set<number>();
  let agents = 0;
  let bytes = 0;
  let stopped = false;
  return {
    completed(agentId) {
      if (!stopped) ready.add(agentId);
    },
    appendReady() {
      if (stopped || !ready.has(agents)) return;
      if (fileSize(path) !== baseBytes + bytes || !existsSync(path)) {
        stopped = true;
        ready.clear();
        return;
      }
      let text = "";
      let next = agents;
      while (ready.has(next)) {
        const line = repository.loadRecordText(runId, round, next);
        if (line === undefined) break;
        text += `${line}\n`;
        ready.delete(next);
        next += 1;
      }
      if (text === "") return;
      const descriptor = openSync(path, "a");
      try {
        writeSync(descriptor, text);
      } finally {
        closeSync(descriptor);
      }
      agents = next;
      bytes += Buffer.byteLength(text);
    },
    prefix: () => ({ agents, bytes }),
  };
}

/** Where a run's records go and where they come from. */
export interface RecordsFileTarget {
  /** `records.jsonl` of the run directory. */
  path: string;
  repository: SimulationRepository;
  runId: string;
}

/**
 * Brings the file in line with the rounds the database holds as completed, under the database's write
 * lock, and returns those rounds (in order).
 */
export function syncRecordsFile({ path, repository, runId }: RecordsFileTarget): StoredRound[] {
  return repository.exclusive(() => reconcileWithRounds({ path, repository, runId }));
}

function reconcileWithRounds({ path, repository, runId }: RecordsFileTarget): StoredRound[] {
  const rounds = repository.loadRounds(runId);
  reconcileRecordsFile({
    path,
    expectedBytes: rounds.at(-1)?.recordsBytes ?? 0,
    rewrite: () =>
      repository.loadRecords(runId).filter((record) => (record as InteractionRecord).iteration < rounds.length),
  });
  return rounds;
}

/**
 * The round barrier, under the database's write lock: brings the file in line with the completed
 * rounds (keeping `prefix`, the lines this process appended for the round, when the file holds exactly
 * them after the completed rounds), appends the rest of the records of `round` (complete in the
 * database, in agent order) and marks the round complete with `summarise(records)` and the file's new
 * size. When another writer completed the round meanwhile, only the first step happens. Returns the
 * round's stored summary.
 */
export function writeRoundRecords<Summary>({
  path,
  repository,
  runId,
  round,
  summarise,
  prefix = { agents: 0, bytes: 0 },
}: RecordsFileTarget & {
  round: number;
  summarise: (records: InteractionRecord[]) => Summary;
  /** Lines of the round already appended by this process (default none). */
  prefix?: RoundPrefix;
}): Summary {
  return repository.exclusive(() => {
    const rounds = repository.loadRounds(runId);
    const keepPrefix =
      prefix.bytes > 0 &&
      rounds.every((stored) => stored.round !== round) &&
      fileSize(path) === (rounds.at(-1)?.recordsBytes ?? 0) + prefix.bytes;
    const done = keepPrefix
      ? undefined
      : reconcileWithRounds({ path, repository, runId }).find((stored) => stored.round === round);
    if (done !== undefined) return done.summary as Summary;
    const records = (repository.loadRecords(runId, round) as InteractionRecord[]).filter(
      (record) => record.iteration === round,
    );
    const recordsBytes = appendRecords(
      path,
      keepPrefix ? records.filter((record) => record.agent_id >= prefix.agents) : records,
    );
    const summary = summarise(records);
    repository.completeRound({ runId, round, summary, recordsBytes });
    return summary;
  });
}
