/**
 * A run directory held by one command: created if missing, locked (src/store/run-lock.ts), and an
 * AbortSignal that SIGINT and SIGTERM raise so the command stops between steps. `close()` releases
 * all of it and removes the directory again if this command created it and wrote nothing into it (a
 * run refused before any work leaves nothing behind).
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { acquireRunLock } from "../store/run-lock.js";

/** What {@link openRunDirectory} holds until `close()`. */
export interface OpenRunDirectory {
  /** Aborted on SIGINT or SIGTERM. */
  readonly signal: AbortSignal;
  /** Removes the signal handlers, releases the lock, removes the directory if created and still empty. */
  close(): void;
}

/** Creates (if missing) and locks `directory` for `command` (a word for the lock's refusal message). */
export function openRunDirectory({ directory, command }: { directory: string; command: string }): OpenRunDirectory {
  const created = !existsSync(directory);
  mkdirSync(directory, { recursive: true });
  const lock = acquireRunLock({ directory, command });
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  return {
    signal: controller.signal,
    close() {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      lock.release();
      if (created && readdirSync(directory).length === 0) rmSync(directory, { recursive: true, force: true });
    },
  };
}
