/**
 * Where the web app finds human-evaluation studies: every directory holding a `study.sqlite` under
 * the roots it serves (searched a few levels deep), known by the study id stored inside.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { STUDY_FILE } from "../../eval/human-eval/create-study.js";
import { type OpenStudy, openStudy } from "../../eval/human-eval/open-study.js";
import { findDirectories } from "../run-catalog.js";

/** Folders not entered when searching for studies (besides hidden ones). */
const SKIPPED = new Set(["node_modules"]);

/** Study directories under `roots`, `depth` levels deep (default 3), in a stable order. */
export function findStudyDirectories({ roots, depth = 3 }: { roots: readonly string[]; depth?: number }): string[] {
  return findDirectories({
    roots,
    depth,
    skipped: SKIPPED,
    compare: (a, b) => a.localeCompare(b),
    match: (directory) => (existsSync(join(directory, STUDY_FILE)) ? directory : undefined),
  });
}

/**
 * Runs `work` on the study with `studyId` (opened for this request and closed after), or returns
 * undefined when no directory holds it. Opening per request keeps no file open between requests.
 * `studyIds` remembers the study id of each directory opened (directory to id; a study's id never
 * changes), so only a directory whose remembered id is `studyId`, or one not seen before, is opened.
 */
export function withStudy<T>({
  directories,
  studyId,
  work,
  studyIds,
}: {
  directories: () => readonly string[];
  studyId: string;
  work: (study: OpenStudy) => T;
  studyIds: Map<string, string>;
}): T | undefined {
  for (const directory of directories()) {
    const known = studyIds.get(directory);
    if (known !== undefined && known !== studyId) continue;
    const study = openStudy({ directory });
    try {
      studyIds.set(directory, study.studyId);
      if (study.studyId === studyId) return work(study);
    } finally {
      study.close();
    }
  }
  return undefined;
}
