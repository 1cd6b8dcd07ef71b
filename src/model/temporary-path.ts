/**
 * Names and clean-up of temporary artefacts (files written before a rename, spill folders, model
 * directories being replaced). Each name carries its writer's pid, so a later run can tell the
 * leftovers of a killed process from the work of a live one: `.<name>.<pid>.<8 hex>.<suffix>`,
 * hidden, beside the path it stands for. It lives in the model layer, the lowest one that writes
 * files, so that model, data and the CLI share one naming.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, renameSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { isProcessAlive } from "../spec/process-liveness.js";

/** What a temporary artefact is: written then renamed, a spill folder, or a replaced directory. */
export type TemporarySuffix = "tmp" | "partial" | "spill" | "old";

const TEMPORARY_NAME = /^\.(.+)\.(\d+)\.([0-9a-f]{8})\.(tmp|partial|spill|old)$/;

/** A fresh temporary name beside `path` (same folder, so a rename onto `path` is atomic). */
export function temporarySiblingPath({ path, suffix = "tmp" }: { path: string; suffix?: TemporarySuffix }): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.${suffix}`);
}

/**
 * Removes the temporary artefacts in `directory` whose writer is dead (killed mid-write), never one
 * of a live process. A directory moved aside to be replaced (`.old`) is moved back instead when
 * nothing took its place, so a kill between the two renames of a replacement loses nothing.
 * Returns the paths removed or restored; a missing or unreadable `directory` yields none.
 */
export function removeStaleTemporaries({ directory }: { directory: string }): string[] {
  let names: string[];
  try {
    names = readdirSync(directory);
  } catch {
    return [];
  }
  const handled: string[] = [];
  for (const name of names) {
    const match = TEMPORARY_NAME.exec(name);
    if (match === null || isProcessAlive(Number(match[2]))) continue;
    const path = join(directory, name);
    const original = join(directory, match[1] as string);
    try {
      if (match[4] === "old" && !existsSync(original)) renameSync(path, original);
      else rmSync(path, { recursive: true, force: true });
      handled.push(path);
    } catch {
      // Another run is cleaning up the same leftover, or it is not ours to remove: leave it.
    }
  }
  return handled;
}
