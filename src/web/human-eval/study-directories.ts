/**
 * Where the web app finds human-evaluation studies: every directory holding a `study.sqlite` under
 * the roots it serves (searched a few levels deep), known by the study id stored inside.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { STUDY_FILE } from "../../eval/human-eval/create-study.js";
import { type OpenStudy, openStudy } from "../../eval/human-eval/open-study.js";

/** Study directories under `roots`, `depth` levels deep (default 3), in a stable order. */
export function findStudyDirectories({ roots, depth = 3 }: { roots: readonly string[]; depth?: number }): string[] {
  const found: string[] = [];
  const visit = (directory: string, level: number): void => {
    if (existsSync(join(directory, STUDY_FILE))) {
      found.push(directory);
      return;
    }
    if (level >= depth) return;
    let entries: import("node:fs").Dirent[];
    try {
      entries = readdirSync(directory, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.isDirectory() && !entry.name.startsWith(".") && entry.name !== "node_modules") {
        visit(join(directory, entry.name), level + 1);
      }
    }
  };
  for (const root of roots) visit(root, 0);
  return found;
}

/**
 * Runs `work` on the study with `studyId` (opened for this request and closed after), or returns
 * undefined when no directory holds it. Opening per request keeps no file open between requests.
 */
export function withStudy<T>({
  directories,
  studyId,
  work,
}: {
  directories: () => readonly string[];
  studyId: string;
  work: (study: OpenStudy) => T;
}): T | undefined {
  for (const directory of directories()) {
    const study = openStudy({ directory });
    try {
      if (study.studyId === studyId) return work(study);
    } finally {
      study.close();
    }
  }
  return undefined;
}
