/**
 * Helpers shared by the pages that show a run directory's report.json (evaluation and experiment):
 * reading the file, and turning an estimate into a bar of the chart module.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ChartBar } from "../eval/bar-chart.js";

/** An estimate as a report file holds it; a missing or null bound is drawn as not a number. */
export interface ReportEstimate {
  value?: number | null;
  lower?: number | null;
  upper?: number | null;
}

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

/** The bar labelled `label` for `estimate`; a missing estimate, value or bound becomes `NaN`. */
export function estimateBar(label: string, estimate: ReportEstimate | undefined): ChartBar {
  return {
    label,
    value: estimate?.value ?? Number.NaN,
    lower: estimate?.lower ?? Number.NaN,
    upper: estimate?.upper ?? Number.NaN,
  };
}
