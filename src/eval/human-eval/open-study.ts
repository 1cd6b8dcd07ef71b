/**
 * An open study: its store, settings and the LM judge's ratings of the same answers, read from the
 * evaluation directories it was created from (a directory that is gone or holds no verdicts simply
 * gives none).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "../../spec/errors.js";
import { createEvaluationRepository } from "../../store/evaluation-repository.js";
import { createHumanEvalRepository, type HumanEvalRepository } from "../../store/human-eval-repository.js";
import { createJudgeRepository } from "../../store/judge-repository.js";
import { openStore, type Store } from "../../store/open-store.js";
import { GENERATION_RUN_ID, type GenerationConfig } from "../generation-run.js";
import { EVALUATION_STORE_FILE, STUDY_FILE } from "./create-study.js";
import {
  analyseStudy,
  type JudgeRatings,
  judgeRatingKey,
  type StudyAnalysis,
  type StudyOutcome,
  studyOutcomes,
} from "./study-analysis.js";
import type { StudySettings } from "./study-plan.js";

/** What a study stores as its config. */
export type StoredStudySettings = StudySettings & { from: string[] };

/** An open study. */
export interface OpenStudy {
  studyId: string;
  directory: string;
  settings: StoredStudySettings;
  repository: HumanEvalRepository;
  store: Store;
  /** Key of the CSRF tokens. */
  secret: string;
  adminTokenSha256: string;
  /** Recomputes the analysis from the stored votes (and the judge's ratings, when any). */
  analyse(): StudyAnalysis;
  /**
   * The included raters' majority per pair item (as {@link StudyAnalysis}'s `outcomes`), from the
   * stored votes alone: no judge ratings are read and no interval is computed.
   */
  outcomes(): StudyOutcome[];
  close(): void;
}

/** Opens `<directory>/study.sqlite`; a UsageError naming the directory when it holds no study. */
export function openStudy({ directory }: { directory: string }): OpenStudy {
  const path = join(directory, STUDY_FILE);
  if (!existsSync(path)) {
    throw new UsageError(`${directory} holds no ${STUDY_FILE}: give a directory made by human-eval create`, {
      field: "<study>",
    });
  }
  const store = openStore({ path });
  const repository = createHumanEvalRepository({ database: store.database });
  const study = repository.loadStudy();
  if (study === undefined) {
    store.close();
    throw new UsageError(`${path} holds no study`, { field: "<study>" });
  }
  const settings = study.config as StoredStudySettings;
  // The items, every assignment and the current votes: what both analyses read from the study.
  const loadStudyRecords = () => ({
    items: repository.loadItems(),
    assignments: repository.loadAllAssignments(),
    votes: repository.loadCurrentVotes(),
  });
  return {
    studyId: study.studyId,
    directory,
    settings,
    repository,
    store,
    secret: study.secret,
    adminTokenSha256: study.adminTokenSha256,
    analyse() {
      const judgeRatings = loadJudgeRatings({ from: settings.from, models: settings.models });
      return analyseStudy({
        settings,
        ...loadStudyRecords(),
        ...(judgeRatings.ratings.size > 0 ? { judgeRatings } : {}),
      });
    },
    outcomes() {
      return studyOutcomes({
        exclusion: settings.exclusion,
        ...loadStudyRecords(),
      }).outcomes;
    },
    close() {
      store.close();
    },
  };
}

/** The LM judge's valid alignment ratings of `models`' answers in the evaluation directories. */
export function loadJudgeRatings({
  from,
  models,
}: {
  from: readonly string[];
  models: readonly string[];
}): JudgeRatings {
  const ratings = new Map<string, number>();
  const judges: string[] = [];
  for (const directory of from) {
    const path = join(directory, EVALUATION_STORE_FILE);
    if (!existsSync(path)) continue;
    const store = openStore({ path });
    try {
      const run = createEvaluationRepository({ database: store.database }).findRun(GENERATION_RUN_ID);
      if (run === undefined) continue;
      const config = run.config as GenerationConfig;
      const judgeRepository = createJudgeRepository({ database: store.database });
      for (const benchmark of config.benchmarks) {
        for (const model of models) {
          for (const verdict of judgeRepository.loadVerdicts({ runId: GENERATION_RUN_ID, model, benchmark })) {
            if (verdict.aspect !== "alignment" || !verdict.valid || typeof verdict.parsed !== "number") continue;
            const key = judgeRatingKey(model, benchmark, verdict.itemId);
            if (!ratings.has(key)) ratings.set(key, verdict.parsed);
          }
        }
      }
      if (!judges.includes(config.judge)) judges.push(config.judge);
    } finally {
      store.close();
    }
  }
  return { judge: judges.join(", "), ratings };
}
