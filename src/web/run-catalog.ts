/**
 * The runs under the app's directories: discovery (a simulation has run.sqlite with simulation
 * tables and records.jsonl; a training run has training.json; an evaluation run has run.sqlite with
 * evaluation tables), status from the run lock (read without taking it), size, models and cost.
 * SQLite files are opened read-only (`readonly`, `fileMustExist`), so a running writer is never
 * blocked, and each run is watched by at most one poller, shared by every client.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join, relative, resolve } from "node:path";
import Database from "better-sqlite3";
import { isProcessAlive } from "../spec/process-liveness.js";
import { readRunLockHolder } from "../store/run-lock.js";
import type { RunEntry, RunKind, RunStatus } from "./run-entry.js";
import { createRunWatcher, type RunUpdate, type RunWatcher } from "./run-watcher.js";

export type { RunEntry, RunKind, RunStatus } from "./run-entry.js";

/** A run with what the runs page shows. */
export interface RunSummary extends RunEntry {
  status: RunStatus;
  /** Bytes of every file in the directory. */
  sizeBytes: number;
  models: string[];
  /** US dollars in the run's usage ledger; undefined when the run has none (training). */
  costUsd: number | undefined;
  /** Last modification of the directory's files, epoch milliseconds. */
  modifiedAt: number;
  /** Why models or cost could not be read (an unreadable or foreign run.sqlite), if so. */
  problem?: string;
}

/** The runs of the app. */
export interface RunCatalog {
  /** Discovers the runs again and summarises each, newest first. */
  list(): RunSummary[];
  /** The run with this id (discovering again when unknown). */
  find(id: string): RunEntry | undefined;
  /** The run's status now. */
  status(entry: RunEntry): RunStatus;
  /** The run's run.sqlite, opened read-only once and kept open; undefined when it has none. */
  database(entry: RunEntry): Database.Database | undefined;
  /** Calls `listener` on every change of the run; returns the unsubscribe function. One poller per run. */
  watch(entry: RunEntry, listener: (update: RunUpdate) => void): () => void;
  /** Pollers running now (one per watched run, whatever the number of clients). */
  activeWatchers(): number;
  /** Stops every poller and closes every database. */
  close(): void;
}

/** Folder levels searched below each root (the root itself is level 0). */
const MAXIMUM_DEPTH = 3;
const SKIPPED = new Set(["node_modules", "checkpoints", "model", "adapter", ".git"]);

/** Creates the catalog of the runs under `roots`; `pollIntervalMs` (default 500) paces the watchers. */
export function createRunCatalog({
  roots,
  pollIntervalMs = 500,
}: {
  roots: readonly string[];
  pollIntervalMs?: number;
}): RunCatalog {
  const entries = new Map<string, RunEntry>();
  const databases = new Map<string, Database.Database>();
  const watchers = new Map<string, RunWatcher>();

  const discover = (): RunEntry[] => {
    const found: RunEntry[] = [];
    for (const root of roots.map((path) => resolve(path))) {
      const runs = findDirectories({
        roots: [root],
        depth: MAXIMUM_DEPTH,
        skipped: SKIPPED,
        match: (directory) => {
          const kind = detectRunKind(directory);
          return kind === undefined ? undefined : { directory, kind };
        },
      });
      for (const { directory, kind } of runs) {
        const name = relative(root, directory) || basename(root);
        const entry: RunEntry = { id: runId(directory), kind, directory, name };
        if (!found.some((other) => other.id === entry.id)) found.push(entry);
      }
    }
    for (const entry of found) entries.set(entry.id, entry);
    return found;
  };

  const database = (entry: RunEntry): Database.Database | undefined => {
    const existing = databases.get(entry.id);
    if (existing) return existing;
    const path = join(entry.directory, "run.sqlite");
    if (!existsSync(path)) return undefined;
    let opened: Database.Database;
    try {
      opened = new Database(path, { readonly: true, fileMustExist: true });
      opened.pragma("busy_timeout = 2000");
    } catch {
      return undefined;
    }
    databases.set(entry.id, opened);
    return opened;
  };

  const status = (entry: RunEntry): RunStatus => {
    const holder = readRunLockHolder({ directory: entry.directory });
    if (holder !== undefined && isProcessAlive(holder.pid)) return "running";
    return isFinished(entry, database(entry)) ? "finished" : "interrupted";
  };

  return {
    list() {
      return discover()
        .map((entry) => summarise(entry, status(entry), database(entry)))
        .sort((a, b) => b.modifiedAt - a.modifiedAt);
    },
    find(id) {
      if (!entries.has(id)) discover();
      return entries.get(id);
    },
    status,
    database,
    watch(entry, listener) {
      let watcher = watchers.get(entry.id);
      if (!watcher) {
        watcher = createRunWatcher({
          entry,
          database: () => database(entry),
          status: () => status(entry),
          pollIntervalMs,
        });
        watchers.set(entry.id, watcher);
      }
      return watcher.subscribe(listener);
    },
    activeWatchers() {
      return [...watchers.values()].filter((watcher) => watcher.listeners > 0).length;
    },
    close() {
      for (const watcher of watchers.values()) watcher.stop();
      watchers.clear();
      for (const opened of databases.values()) opened.close();
      databases.clear();
    },
  };
}

/** The id of a run directory in URLs. */
export function runId(directory: string): string {
  return createHash("sha256").update(resolve(directory)).digest("hex").slice(0, 12);
}

/** The kind of run `directory` holds, if any. */
export function detectRunKind(directory: string): RunKind | undefined {
  // An experiment directory (`experiment run`) holds whole runs in its nodes; it is listed as one.
  if (existsSync(join(directory, "experiment.json"))) return "experiment";
  if (existsSync(join(directory, "training.json"))) return "training";
  const store = join(directory, "run.sqlite");
  if (!existsSync(store)) return undefined;
  if (existsSync(join(directory, "records.jsonl"))) return "simulation";
  if (existsSync(join(directory, "report.json"))) return "evaluation";
  return storedRunKind(store);
}

/** Every run.sqlite has every table (migrations), so the kind is read from which tables hold rows. */
function storedRunKind(path: string): RunKind | undefined {
  try {
    const database = new Database(path, { readonly: true, fileMustExist: true });
    try {
      const has = (table: string) =>
        (database.prepare(`SELECT EXISTS (SELECT 1 FROM ${table}) AS present`).get() as { present: number }).present ===
        1;
      if (has("simulation_agents")) return "simulation";
      if (has("eval_items") || has("eval_generations")) return "evaluation";
      return undefined;
    } finally {
      database.close();
    }
  } catch {
    return undefined;
  }
}

/**
 * Searches each of `roots` (the root itself is level 0) down to `depth` levels for directories that
 * `match` (it returns what to keep, or undefined for no match), and returns what it kept, root by root,
 * depth first. A matching directory is not searched further; hidden folders (name starting with ".")
 * and folders named in `skipped` are not entered, nor folders that cannot be read. Subfolders are
 * visited in `compare` order of their names (default: UTF-16 code unit order, as `Array.sort`).
 */
export function findDirectories<T>({
  roots,
  depth,
  match,
  skipped,
  compare,
}: {
  roots: readonly string[];
  depth: number;
  match: (directory: string) => T | undefined;
  skipped: ReadonlySet<string>;
  compare?: (a: string, b: string) => number;
}): T[] {
  const found: T[] = [];
  const visit = (directory: string, level: number): void => {
    const matched = match(directory);
    if (matched !== undefined) {
      found.push(matched);
      return;
    }
    if (level >= depth) return;
    let children: string[];
    try {
      children = readdirSync(directory, { withFileTypes: true })
        .filter((child) => child.isDirectory() && !child.name.startsWith(".") && !skipped.has(child.name))
        .map((child) => child.name)
        .sort(compare);
    } catch {
      return;
    }
    for (const child of children) visit(join(directory, child), level + 1);
  };
  for (const root of roots) visit(root, 0);
  return found;
}

function isFinished(entry: RunEntry, database: Database.Database | undefined): boolean {
  if (entry.kind === "training") {
    return existsSync(join(entry.directory, "model")) || existsSync(join(entry.directory, "adapter"));
  }
  if (entry.kind === "evaluation" || entry.kind === "experiment") {
    return existsSync(join(entry.directory, "report.json"));
  }
  if (!database) return false;
  try {
    const row = database.prepare("SELECT COUNT(*) AS total, SUM(status = 'finished') AS done FROM runs").get() as {
      total: number;
      done: number | null;
    };
    return row.total > 0 && row.done === row.total;
  } catch {
    return false;
  }
}

function summarise(entry: RunEntry, status: RunStatus, database: Database.Database | undefined): RunSummary {
  const { sizeBytes, modifiedAt } = directorySize(entry.directory);
  let models: string[] = [];
  let costUsd: number | undefined;
  let problem: string | undefined;
  if (database) {
    try {
      const rows = database
        .prepare("SELECT model_id, SUM(cost_usd) AS cost FROM lm_usage GROUP BY model_id ORDER BY model_id")
        .all() as { model_id: string; cost: number }[];
      models = rows.map((row) => row.model_id);
      costUsd = rows.reduce((sum, row) => sum + row.cost, 0);
      if (entry.kind === "simulation" && models.length === 0) {
        const agents = database.prepare("SELECT DISTINCT model_id FROM simulation_agents ORDER BY model_id").all() as {
          model_id: string;
        }[];
        models = agents.map((row) => row.model_id);
      }
    } catch (error) {
      problem = `run.sqlite: ${(error as Error).message}`;
    }
  }
  if (entry.kind === "training") models = trainingModels(entry.directory);
  if (entry.kind === "experiment") ({ models, costUsd } = experimentModelsAndCost(entry.directory));
  return { ...entry, status, sizeBytes, models, costUsd, modifiedAt, ...(problem === undefined ? {} : { problem }) };
}

/** An experiment's agent models over its generations and the US dollars of its steps, from report.json. */
function experimentModelsAndCost(directory: string): { models: string[]; costUsd: number | undefined } {
  try {
    const report = JSON.parse(readFileSync(join(directory, "report.json"), "utf8")) as {
      generations?: { agents?: unknown }[];
      steps?: { usage?: { costUsd?: unknown } }[];
    };
    const models = (report.generations ?? []).flatMap((generation) =>
      Array.isArray(generation.agents) ? generation.agents.filter((agent) => typeof agent === "string") : [],
    );
    const costs = (report.steps ?? []).map((step) => step.usage?.costUsd).filter((cost) => typeof cost === "number");
    return { models: [...new Set(models)], costUsd: costs.reduce((sum, cost) => sum + cost, 0) };
  } catch {
    return { models: [], costUsd: undefined };
  }
}

function trainingModels(directory: string): string[] {
  try {
    const description = JSON.parse(readFileSync(join(directory, "training.json"), "utf8")) as { model?: unknown };
    return typeof description.model === "string" ? [description.model] : [];
  } catch {
    return [];
  }
}

function directorySize(directory: string): { sizeBytes: number; modifiedAt: number } {
  let sizeBytes = 0;
  let modifiedAt = 0;
  const visit = (path: string) => {
    for (const child of readdirSync(path, { withFileTypes: true })) {
      const childPath = join(path, child.name);
      if (child.isDirectory()) visit(childPath);
      else if (child.isFile()) {
        const stats = statSync(childPath, { throwIfNoEntry: false });
        if (!stats) continue;
        sizeBytes += stats.size;
        modifiedAt = Math.max(modifiedAt, stats.mtimeMs);
      }
    }
  };
  visit(directory);
  return { sizeBytes, modifiedAt };
}
