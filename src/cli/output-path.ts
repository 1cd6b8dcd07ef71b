/**
 * Checks an output path given on the command line before anything is written, so that an unusable
 * one ends in one line naming the flag and the path instead of a stack trace halfway through.
 */
import { accessSync, constants, realpathSync, statSync } from "node:fs";
import { dirname, resolve, sep } from "node:path";
import { ConfigError } from "../spec/errors.js";

/**
 * Kernel folders: never a place for output, and Node's recursive mkdir can spin forever under
 * /proc, so they are refused before any mkdir.
 */
const SYSTEM_FOLDERS = ["/proc", "/sys", "/dev"] as const;

/**
 * Resolves `path` and checks that a `directory` (a run directory, a model directory) or a `file`
 * can be written there: it is not under /proc, /sys or /dev; it exists as the kind asked for or not
 * at all; no part of it is a file; and the nearest existing folder is writable for this user
 * (`access(W_OK)`; root passes that check everywhere except on read-only mounts). Throws a
 * ConfigError naming `flag`; returns the absolute path.
 */
export function checkOutputPath({
  path,
  flag,
  kind,
}: {
  path: string;
  flag: string;
  kind: "directory" | "file";
}): string {
  const absolute = resolve(path);
  const refuse = (problem: string): never => {
    throw new ConfigError(`${flag} ${absolute}: ${problem}`, { field: flag });
  };
  let existing = absolute;
  let information: ReturnType<typeof statSync> | undefined;
  try {
    information = statOrUndefined(existing);
    while (information === undefined && dirname(existing) !== existing) {
      existing = dirname(existing);
      information = statOrUndefined(existing);
    }
  } catch (error) {
    refuse(`cannot be checked (${(error as NodeJS.ErrnoException).code}); choose a folder you can write`);
  }
  const real = information === undefined ? existing : realpathSync(existing);
  for (const folder of SYSTEM_FOLDERS) {
    if ([absolute, real].some((candidate) => candidate === folder || candidate.startsWith(`${folder}${sep}`))) {
      refuse(`lies under ${folder}, a kernel folder; choose a folder on disk`);
    }
  }
  if (information === undefined) refuse("no part of this path exists; choose a folder on disk");
  if (existing === absolute) {
    if (kind === "directory" && !information?.isDirectory()) {
      refuse("is a file, not a directory; choose another path or move the file away");
    }
    if (kind === "file" && information?.isDirectory()) refuse("is a directory; give a file name");
  } else if (!information?.isDirectory()) {
    refuse(`lies under ${existing}, which is a file; choose another path`);
  }
  const writable = kind === "file" && existing === absolute ? dirname(absolute) : existing;
  try {
    accessSync(writable, constants.W_OK);
    if (existing === absolute && kind === "file") accessSync(absolute, constants.W_OK);
  } catch {
    refuse(
      `${writable === absolute ? "is" : `cannot be created: ${writable} is`} not writable; choose a writable folder`,
    );
  }
  return absolute;
}

function statOrUndefined(path: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw error;
  }
}
