/** The identity of a discovered run directory, shared by the catalog, the watcher and the pages. */

/** What a run directory holds. */
export type RunKind = "simulation" | "training" | "evaluation" | "experiment";

/** running: its lock is held by a live process; finished; interrupted: neither. */
export type RunStatus = "running" | "finished" | "interrupted";

/** A discovered run directory. */
export interface RunEntry {
  /** Stable id in URLs: 12 hex characters of the SHA-256 of the absolute path. */
  id: string;
  kind: RunKind;
  /** Absolute path of the run directory. */
  directory: string;
  /** The path shown: relative to the root it was found under (the root's own name when it is the run). */
  name: string;
}
