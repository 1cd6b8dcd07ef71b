/**
 * Whole directories written atomically: the content goes to a temporary sibling that is renamed
 * into place only once complete, so a killed command leaves either the old directory or the new
 * one, never new files beside old ones (a new config.json beside old weights).
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { ConfigError } from "../spec/errors.js";
import { removeStaleTemporaries, temporarySiblingPath } from "./temporary-path.js";

/**
 * Runs `write` on a fresh temporary sibling of `directory` and renames it to `directory` when
 * `write` resolves; removes it when `write` throws. An existing non-empty `directory` is refused
 * (a ConfigError naming `flag`, default `--out`) unless `replace` (default false) is set, in which
 * case it is moved aside, the new one renamed in and the old one removed. `replaceableIfHolds`
 * (default: any) names a file an existing directory must hold to be replaced, so that `--force`
 * with a mistaken path (a home folder) is refused instead of deleting it. Leftovers of killed
 * writers beside `directory` are cleaned first. Returns what `write` returned.
 */
export async function writeDirectoryAtomically<T>(
  {
    directory,
    replace = false,
    replaceableIfHolds,
    flag = "--out",
  }: { directory: string; replace?: boolean; replaceableIfHolds?: string; flag?: string },
  write: (temporaryDirectory: string) => Promise<T>,
): Promise<T> {
  const target = resolve(directory);
  mkdirSync(dirname(target), { recursive: true });
  removeStaleTemporaries({ directory: dirname(target) });
  const occupied = () => existsSync(target) && !isEmptyDirectory(target);
  const refuse = () => {
    throw new ConfigError(`${flag} ${target} already exists; add --force to replace it, or choose another path`, {
      field: flag,
    });
  };
  if (occupied() && !replace) refuse();
  if (occupied() && replaceableIfHolds !== undefined && !existsSync(join(target, replaceableIfHolds))) {
    throw new ConfigError(
      `${flag} ${target} holds no ${replaceableIfHolds}, so it is not replaced even with --force; choose another path`,
      { field: flag },
    );
  }
  const temporary = temporarySiblingPath({ path: target });
  mkdirSync(temporary);
  let result: T;
  try {
    result = await write(temporary);
    if (!existsSync(target)) {
      renameSync(temporary, target);
    } else if (!occupied()) {
      rmSync(target, { recursive: true });
      renameSync(temporary, target);
    } else {
      if (!replace) refuse();
      const aside = temporarySiblingPath({ path: target, suffix: "old" });
      renameSync(target, aside);
      renameSync(temporary, target);
      rmSync(aside, { recursive: true, force: true });
    }
  } catch (error) {
    rmSync(temporary, { recursive: true, force: true });
    throw error;
  }
  return result;
}

function isEmptyDirectory(path: string): boolean {
  return statSync(path).isDirectory() && readdirSync(path).length === 0;
}
