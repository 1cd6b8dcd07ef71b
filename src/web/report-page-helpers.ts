/**
 * Helpers shared by the pages that show a run directory's report.json (evaluation and experiment):
 * reading the file. (Turning an estimate into a chart bar is src/eval's bar-chart `estimateBar`.)
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * `<directory>/report.json` parsed as `Report` (its shape is not checked): `report` is undefined when
 * the file does not exist yet, and `problem` says in one line why a file that exists could not be read.
 */
export function readReportJson<Report>(directory: string): { report?: Report; problem?: string } {
  const path = join(directory, "report.json");
  if (!existsSync(path)) return {};
  try {
    return { report: JSON.parse(readFileSync(path, "utf8")) as Report };
  } catch (error) {
    return { problem: `${path}: not readable JSON (${(error as Error).message})` };
  }
}
