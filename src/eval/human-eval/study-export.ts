/**
 * What a study gives back: preference pairs (`human-eval export --format jsonl|dpo`, read by
 * `data import --format jsonl --chosen-field chosen`), and the human judge's verdicts written into
 * the evaluation runs the study came from (their report files rewritten), so `eval report` and `serve`
 * show them beside the LM judge. Both use
 * the included raters' majority per item; items without a majority preference give no pair.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { mean } from "../../data/statistics.js";
import { createEvaluationRepository } from "../../store/evaluation-repository.js";
import { createJudgeRepository, type StoredVerdict } from "../../store/judge-repository.js";
import { openStore } from "../../store/open-store.js";
import { acquireRunLock, type RunLock } from "../../store/run-lock.js";
import { writeGenerationReportFiles } from "../generation-report-files.js";
import { GENERATION_RUN_ID } from "../generation-run.js";
import { EVALUATION_STORE_FILE, loadModelsBySource } from "./create-study.js";
import { HUMAN_ASPECT, HUMAN_JUDGE, oppositeOutcome, verdictOf } from "./human-verdicts.js";
import type { OpenStudy } from "./open-study.js";
import type { CanonicalVote } from "./study-analysis.js";

/** Export formats. */
export const STUDY_EXPORT_FORMATS = ["jsonl", "dpo"] as const;
export type StudyExportFormat = (typeof STUDY_EXPORT_FORMATS)[number];

function ratingMean(votes: readonly CanonicalVote[], side: "firstRating" | "secondRating"): number | null {
  const ratings = votes.flatMap((vote) => (vote[side] === undefined ? [] : [vote[side] as number]));
  return ratings.length === 0 ? null : mean(ratings);
}

/** The study's preference pairs as JSON Lines text (one object a line). */
export function exportStudyPairs({ study, format }: { study: OpenStudy; format: StudyExportFormat }): {
  text: string;
  pairs: number;
} {
  const lines: string[] = [];
  for (const { item, outcome, votes } of study.outcomes()) {
    if (outcome === "tie") continue;
    const firstWins = outcome === "win";
    const chosen = firstWins ? item.firstAnswer : item.secondAnswer;
    const rejected = firstWins ? item.secondAnswer : item.firstAnswer;
    const [chosenScore, rejectedScore] = firstWins
      ? [ratingMean(votes, "firstRating"), ratingMean(votes, "secondRating")]
      : [ratingMean(votes, "secondRating"), ratingMean(votes, "firstRating")];
    if (format === "dpo") {
      lines.push(
        JSON.stringify({
          prompt: item.prompt,
          chosen,
          rejected,
          score_chosen: chosenScore,
          score_rejected: rejectedScore,
        }),
      );
      continue;
    }
    const count = (choice: CanonicalVote["choice"]) => votes.filter((vote) => vote.choice === choice).length;
    lines.push(
      JSON.stringify({
        study: study.studyId,
        item_id: item.itemId,
        benchmark: item.benchmark,
        source_item_id: item.sourceItemId,
        prompt: item.prompt,
        chosen,
        rejected,
        chosen_model: firstWins ? item.firstModel : item.secondModel,
        rejected_model: firstWins ? item.secondModel : item.firstModel,
        score_chosen: chosenScore,
        score_rejected: rejectedScore,
        votes: { first: count("first"), second: count("second"), tie: count("tie"), both_bad: count("both-bad") },
      }),
    );
  }
  return { text: lines.map((line) => `${line}\n`).join(""), pairs: lines.length };
}

/**
 * Writes the human judge's verdicts into each evaluation run a compared model came from (replacing
 * this study's earlier ones): for every pair item with included votes, one verdict per model against
 * the other. Returns the verdicts written per directory.
 */
export function recordHumanVerdicts({ study }: { study: OpenStudy }): Map<string, number> {
  const modelsBySource = loadModelsBySource({ from: study.settings.from });
  const promptVersion = `human-eval:${study.studyId}`;
  const promptSha256 = createHash("sha256").update(JSON.stringify(study.settings)).digest("hex");
  const rowsBySource = new Map<string, { model: string; benchmark: string; verdict: StoredVerdict }[]>(
    [...modelsBySource.keys()].map((directory) => [directory, []]),
  );
  const sourceOf = (model: string) => [...modelsBySource].find(([, models]) => models.includes(model))?.[0];
  for (const { item, outcome, votes } of study.outcomes()) {
    const summary = `${votes.length} raters: ${votes.map((vote) => vote.choice).join(", ")}`;
    for (const [model, opponent, parsed] of [
      [item.firstModel, item.secondModel, verdictOf(outcome)],
      [item.secondModel, item.firstModel, verdictOf(oppositeOutcome(outcome))],
    ] as const) {
      const source = sourceOf(model);
      if (source === undefined) continue;
      rowsBySource.get(source)?.push({
        model,
        benchmark: item.benchmark,
        verdict: {
          itemId: item.sourceItemId,
          aspect: HUMAN_ASPECT,
          opponent,
          judgeModel: HUMAN_JUDGE,
          promptVersion,
          promptSha256,
          valid: true,
          parsed,
          reason: summary,
          raw: JSON.stringify(
            votes.map(({ choice, firstRating, secondRating }) => ({ choice, firstRating, secondRating })),
          ),
          attempts: votes.length,
        },
      });
    }
  }
  const written = new Map<string, number>();
  // Every evaluation run is locked before any is written (as `eval` locks it while it runs), so a study
  // exported while one of them is still being judged is refused whole, naming the holder.
  const locks: RunLock[] = [];
  try {
    for (const directory of rowsBySource.keys()) {
      locks.push(acquireRunLock({ directory, command: "human-eval export" }));
    }
    writeVerdicts({ rowsBySource, promptVersion, written });
  } finally {
    for (const lock of locks) lock.release();
  }
  return written;
}

function writeVerdicts({
  rowsBySource,
  promptVersion,
  written,
}: {
  rowsBySource: Map<string, { model: string; benchmark: string; verdict: StoredVerdict }[]>;
  promptVersion: string;
  written: Map<string, number>;
}): void {
  for (const [directory, rows] of rowsBySource) {
    const store = openStore({ path: join(directory, EVALUATION_STORE_FILE) });
    try {
      const judgeRepository = createJudgeRepository({ database: store.database });
      judgeRepository.replaceJudgeVerdicts({ runId: GENERATION_RUN_ID, judgeModel: HUMAN_JUDGE, promptVersion, rows });
      // The run's report files (what `serve` draws) are recomputed so they show the human judge too.
      writeGenerationReportFiles({
        directory,
        evaluationRepository: createEvaluationRepository({ database: store.database }),
        judgeRepository,
      });
    } finally {
      store.close();
    }
    written.set(directory, rows.length);
  }
}
