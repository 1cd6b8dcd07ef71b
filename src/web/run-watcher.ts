/**
 * One poller per watched run, shared by every client: every `pollIntervalMs` it checks cheaply
 * whether the run changed (SQLite's `PRAGMA data_version`, which moves when another connection
 * commits, then the latest completed round; for training, the size of metrics.jsonl) and tells the
 * subscribers. It starts with the first subscriber and stops with the last.
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import type Database from "better-sqlite3";
import type { RunEntry, RunStatus } from "./run-entry.js";

/** What subscribers hear when a run changes. */
export interface RunUpdate {
  status: RunStatus;
  /** Simulation: the latest completed round (-1 before the first). */
  latestRound?: number;
  /** Training: bytes of metrics.jsonl. */
  metricsBytes?: number;
}

/** A run's poller. */
export interface RunWatcher {
  /** Listeners now subscribed. */
  readonly listeners: number;
  /** Adds a listener (it hears the next change, not the current state); returns its unsubscribe. */
  subscribe(listener: (update: RunUpdate) => void): () => void;
  /** Polls now (the timer calls this); exported for tests. */
  poll(): void;
  stop(): void;
}

/** Creates the poller of `entry`; `pollIntervalMs` default 500. */
export function createRunWatcher({
  entry,
  database,
  status,
  pollIntervalMs = 500,
}: {
  entry: RunEntry;
  database: () => Database.Database | undefined;
  status: () => RunStatus;
  pollIntervalMs?: number;
}): RunWatcher {
  const listeners = new Set<(update: RunUpdate) => void>();
  let timer: NodeJS.Timeout | undefined;
  let lastSignature: string | undefined;
  // The latest round is re-read only when another connection committed since the last poll.
  let cached: { version: number; latestRound: number } | undefined;

  const read = (): { signature: string; update: RunUpdate } => {
    const runStatus = status();
    if (entry.kind === "training") {
      const metricsBytes = statSync(join(entry.directory, "metrics.jsonl"), { throwIfNoEntry: false })?.size ?? 0;
      return { signature: `${runStatus}:${metricsBytes}`, update: { status: runStatus, metricsBytes } };
    }
    const opened = database();
    if (!opened) return { signature: runStatus, update: { status: runStatus } };
    const version = opened.pragma("data_version", { simple: true }) as number;
    if (entry.kind !== "simulation") return { signature: `${runStatus}:${version}`, update: { status: runStatus } };
    if (cached?.version !== version) cached = { version, latestRound: latestCompletedRound(opened) };
    const latestRound = cached.latestRound;
    return { signature: `${runStatus}:${latestRound}`, update: { status: runStatus, latestRound } };
  };

  const poll = () => {
    if (listeners.size === 0) return;
    let current: { signature: string; update: RunUpdate };
    try {
      current = read();
    } catch {
      return; // a run being created or a file being renamed: try again next tick
    }
    if (lastSignature !== undefined && current.signature !== lastSignature) {
      for (const listener of [...listeners]) listener(current.update);
    }
    lastSignature = current.signature;
  };

  const stop = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
    lastSignature = undefined;
  };

  return {
    get listeners() {
      return listeners.size;
    },
    subscribe(listener) {
      listeners.add(listener);
      if (!timer) {
        try {
          lastSignature = read().signature;
        } catch {
          lastSignature = undefined;
        }
        timer = setInterval(poll, pollIntervalMs);
        timer.unref();
      }
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) stop();
      };
    },
    poll,
    stop,
  };
}

/** The latest round whose barrier completed, or -1. */
export function latestCompletedRound(database: Database.Database): number {
  const row = database.prepare("SELECT COALESCE(MAX(round), -1) AS latest FROM simulation_rounds").get() as {
    latest: number;
  };
  return row.latest;
}
