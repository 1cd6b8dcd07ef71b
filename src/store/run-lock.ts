/**
 * One process per run directory. `simulate` (and, later, training and evaluation runs) take this
 * lock before writing; a second process on the same directory is refused, naming the holder's pid.
 * The lock is a file holding the owner's pid, so it dies with its process: a lock whose pid is dead
 * (SIGKILL, power loss) is taken over by the next run. SQLite's exclusive locking is not used, so
 * readers (a viewer, `data build`) keep reading the WAL while a run writes.
 *
 * Races are settled by the file system alone. A lock is created with link(2), which fails when the
 * name exists, so it appears whole or not at all. A stale lock is replaced only by the process that
 * first creates a marker named after that lock's content (link again, so exactly one taker wins);
 * the winner re-reads the lock, renames a fresh file over it and removes the marker. A taker killed
 * while holding a marker leaves a stale marker, taken over the same way.
 */
import { createHash, randomBytes } from "node:crypto";
import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { RunLockedError } from "../spec/errors.js";
import { isProcessAlive } from "../spec/process-liveness.js";

/** The lock file's name inside a run directory. */
export const RUN_LOCK_FILE_NAME = "run.lock";

/** A held run lock. */
export interface RunLock {
  /** The lock file. */
  readonly path: string;
  /** Removes the lock file if it is still ours; safe to call twice. Also runs on process exit. */
  release(): void;
}

/** What a lock file says about its holder. */
export interface RunLockHolder {
  pid: number;
  command: string;
  /** ISO 8601 time the lock was taken. */
  startedAt: string;
}

/** Attempts before giving up on a lock that keeps changing hands (each waits up to 20 ms). */
const MAXIMUM_ATTEMPTS = 200;

/**
 * Takes the lock of `directory` (which must exist) for `command` (a word for the refusal message,
 * such as `simulate`). Throws {@link RunLockedError} naming the holder's pid when a live process
 * holds it; takes over a lock whose process is dead. The lock is released by `release()` and, as a
 * backstop, when the process exits normally; after SIGKILL it stays for the next run to take over.
 */
export function acquireRunLock({ directory, command }: { directory: string; command: string }): RunLock {
  const path = join(directory, RUN_LOCK_FILE_NAME);
  const content = `${JSON.stringify({
    pid: process.pid,
    command,
    startedAt: new Date().toISOString(),
    nonce: randomBytes(8).toString("hex"),
  } satisfies RunLockHolder & { nonce: string })}\n`;
  const outcome = acquireFile(path, content, 0);
  if (outcome.kind === "held") {
    const holder = outcome.holder;
    throw new RunLockedError(
      `${directory} is in use by pid ${holder.pid} (${holder.command}, since ${holder.startedAt}); wait for it to finish, or remove ${path} if pid ${holder.pid} is not a stable-alignment process`,
      { holderPid: holder.pid, lockPath: path },
    );
  }
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    process.off("exit", release);
    if (readOrUndefined(path) === content) rmSync(path, { force: true });
  };
  process.on("exit", release);
  return { path, release };
}

/** Reads the holder recorded in a lock file, or undefined when there is none or it is unreadable. */
export function readRunLockHolder({ directory }: { directory: string }): RunLockHolder | undefined {
  const text = readOrUndefined(join(directory, RUN_LOCK_FILE_NAME));
  return text === undefined ? undefined : parseHolder(text);
}

type Outcome = { kind: "acquired" } | { kind: "held"; holder: RunLockHolder };

/** Makes `path` hold `content`, unless a live process holds it; `depth` counts marker levels. */
function acquireFile(path: string, content: string, depth: number): Outcome {
  for (let attempt = 0; attempt < MAXIMUM_ATTEMPTS; attempt += 1) {
    if (createExclusive(path, content)) return { kind: "acquired" };
    const existing = readOrUndefined(path);
    if (existing === undefined) continue; // released between our attempt and the read
    const holder = parseHolder(existing);
    if (holder !== undefined && isProcessAlive(holder.pid)) return { kind: "held", holder };
    // Stale. Only the winner of this lock content's marker may replace it.
    const marker = join(dirname(path), `.${basename(path)}.${digest(existing)}.takeover`);
    const markerOutcome = depth < 8 ? acquireFile(marker, content, depth + 1) : { kind: "held" as const };
    if (markerOutcome.kind === "acquired") {
      try {
        if (readOrUndefined(path) === existing) {
          replaceWith(path, content);
          return { kind: "acquired" };
        }
      } finally {
        if (readOrUndefined(marker) === content) rmSync(marker, { force: true });
      }
    } else {
      // Another live process is taking this lock over; its result decides on the next pass.
      pause(20);
    }
  }
  const last = parseHolder(readOrUndefined(path) ?? "");
  return { kind: "held", holder: last ?? { pid: 0, command: "unknown", startedAt: "unknown" } };
}

/** Creates `path` with `content` only if the name is free; the file appears complete or not at all. */
function createExclusive(path: string, content: string): boolean {
  const temporary = temporaryBeside(path);
  writeFileSync(temporary, content, { flag: "wx" });
  try {
    linkSync(temporary, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  } finally {
    rmSync(temporary, { force: true });
  }
}

function replaceWith(path: string, content: string): void {
  const temporary = temporaryBeside(path);
  writeFileSync(temporary, content, { flag: "wx" });
  try {
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

/** The same pid-and-random naming as other temporary files, so stale ones are recognisable. */
function temporaryBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
}

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

function parseHolder(text: string): RunLockHolder | undefined {
  try {
    const value = JSON.parse(text) as Partial<RunLockHolder>;
    if (typeof value.pid !== "number" || !Number.isInteger(value.pid)) return undefined;
    return {
      pid: value.pid,
      command: typeof value.command === "string" ? value.command : "unknown",
      startedAt: typeof value.startedAt === "string" ? value.startedAt : "unknown",
    };
  } catch {
    return undefined;
  }
}

function digest(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Blocks for `milliseconds` (the lock is taken once, before any work, so blocking costs nothing). */
function pause(milliseconds: number): void {
  Atomics.wait(sleeper, 0, 0, milliseconds);
}
