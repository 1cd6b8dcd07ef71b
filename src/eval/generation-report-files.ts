/**
 * The report files of a generation-mode evaluation run directory: `report.md`, `report.json` and
 * `report.html` (what `serve` draws), recomputed from the run's store and each written atomically.
 */
import { join } from "node:path";
import { writeFileAtomically } from "../model/atomic-writer.js";
import type { EvaluationRepository } from "../store/evaluation-repository.js";
import type { JudgeRepository } from "../store/judge-repository.js";
import { buildGenerationReport, type GenerationReport } from "./generation-report.js";
import { formatGenerationHtml, formatGenerationJson, formatGenerationMarkdown } from "./generation-report-format.js";

/** Builds the run's report and writes its three files into `directory`; returns the report and their texts. */
export function writeGenerationReportFiles({
  directory,
  evaluationRepository,
  judgeRepository,
}: {
  directory: string;
  evaluationRepository: EvaluationRepository;
  judgeRepository: JudgeRepository;
}): { report: GenerationReport; markdown: string; json: string; html: string } {
  const report = buildGenerationReport({ evaluationRepository, judgeRepository });
  const markdown = formatGenerationMarkdown(report);
  const json = formatGenerationJson(report);
  const html = formatGenerationHtml(report);
  writeFileAtomically({ path: join(directory, "report.md"), data: markdown });
  writeFileAtomically({ path: join(directory, "report.json"), data: json });
  writeFileAtomically({ path: join(directory, "report.html"), data: html });
  return { report, markdown, json, html };
}
