/**
 * `records.jsonl` in the run directory: one line per interaction, in (round, agent) order, appended
 * at each round barrier. The database remembers the file's size after every completed round, so a run
 * killed in the middle of an append cuts the file back to the last complete round on resume: no line
 * is lost or doubled.
 */
import { closeSync, existsSync, fsyncSync, openSync, statSync, truncateSync, writeSync } from "node:fs";

/** Current size of the file in bytes; 0 when it does not exist. */
export function fileSize(path: string): number {
  return existsSync(path) ? statSync(path).size : 0;
}

/**
 * Makes the file hold exactly the lines of the completed rounds: cuts it to `expectedBytes` when it is
 * longer, and rewrites it from `rewrite()` (all completed records) when it is shorter or missing.
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
  const size = fileSize(path);
  if (size === expectedBytes && existsSync(path)) return;
  if (size > expectedBytes) {
    truncateSync(path, expectedBytes);
    return;
  }
  const descriptor = openSync(path, "w");
  try {
    const text = rewrite()
      .map((record) => `${JSON.stringify(record)}\n`)
      .join("");
    writeSync(descriptor, text);
    fsyncSync(descriptor);
  } finally {
    closeSync(descriptor);
  }
}

/** Appends records, one JSON line each, flushed to disk; returns the file size afterwards. */
export function appendRecords(path: string, records: readonly unknown[]): number {
  const descriptor = openSync(path, "a");
  try {
    const text = records.map((record) => `${JSON.stringify(record)}\n`).join("");
    if (text !== "") writeSync(descriptor, text);
    fsyncSync(descriptor);
  } finally {
    closeSync(descriptor);
  }
  return fileSize(path);
}
