/**
 * `human-eval create`: reads the answers of generation-mode evaluation runs, plans a blind study
 * (study-plan.ts) and writes it as `<out>/study.sqlite` in one step (a temporary folder renamed into
 * place, so a failure leaves nothing). Rater and admin tokens are 128 random bits (base64url); only
 * their SHA-256 hashes are stored, so the links exist once, in what this returns.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { writeDirectoryAtomically } from "../../model/atomic-writer.js";
import { UsageError } from "../../spec/errors.js";
import { createEvaluationRepository, type EvaluationRepository } from "../../store/evaluation-repository.js";
import { createHumanEvalRepository } from "../../store/human-eval-repository.js";
import { createJudgeRepository } from "../../store/judge-repository.js";
import { openStore, type Store } from "../../store/open-store.js";
import type { GenerationItem } from "../generation-items.js";
import { GENERATION_RUN_ID, type GenerationConfig } from "../generation-run.js";
import { GOLD_PAIRS, type GoldPair } from "./gold-pairs.js";
import { type PromptAnswers, planStudy, type StudySettings } from "./study-plan.js";

/** The file of a study inside its directory. */
export const STUDY_FILE = "study.sqlite";

/** The file of an evaluation run inside its directory. */
export const EVALUATION_STORE_FILE = "run.sqlite";

/** A fresh token: 128 random bits, base64url (22 characters). */
export function createToken(): string {
  return randomBytes(16).toString("base64url");
}

/** SHA-256 of a token, hex: what the study stores. */
export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/**
 * Opens each generation run of `from` in order and calls `visit` with its store, its evaluation
 * repository, its config and the models it contributes (those no earlier directory held); returns
 * those models per directory. A UsageError naming `--from` for a directory without a generation-mode
 * run.
 */
function visitGenerationRuns({
  from,
  visit,
}: {
  from: readonly string[];
  visit?: (run: {
    directory: string;
    store: Store;
    evaluation: EvaluationRepository;
    config: GenerationConfig;
    models: string[];
  }) => void;
}): Map<string, string[]> {
  const modelsBySource = new Map<string, string[]>();
  for (const directory of from) {
    const path = join(directory, EVALUATION_STORE_FILE);
    if (!existsSync(path)) {
      throw new UsageError(
        `${directory} holds no ${EVALUATION_STORE_FILE}: give a generation-mode eval run directory`,
        {
          field: "--from",
        },
      );
    }
    const store = openStore({ path });
    try {
      const evaluation = createEvaluationRepository({ database: store.database });
      const run = evaluation.findRun(GENERATION_RUN_ID);
      if (run === undefined) {
        throw new UsageError(`${directory} holds no generation-mode evaluation (eval run --mode generation)`, {
          field: "--from",
        });
      }
      const config = run.config as GenerationConfig;
      const taken = new Set([...modelsBySource.values()].flat());
      const models = config.models.filter((model) => !taken.has(model));
      modelsBySource.set(directory, models);
      visit?.({ directory, store, evaluation, config, models });
    } finally {
      store.close();
    }
  }
  return modelsBySource;
}

/**
 * The models of the generation runs in `from` per directory, in order; a model answered in several
 * directories counts from the first. A UsageError naming `--from` for a directory without one.
 */
export function loadModelsBySource({ from }: { from: readonly string[] }): Map<string, string[]> {
  return visitGenerationRuns({ from });
}

/**
 * Every prompt of the generation runs in `from` with the answers of the models it holds, and the
 * models per directory ({@link loadModelsBySource}). A prompt is matched across directories by
 * benchmark and item id.
 */
function loadPromptAnswers({ from }: { from: readonly string[] }): {
  prompts: PromptAnswers[];
  modelsBySource: Map<string, string[]>;
} {
  const byKey = new Map<string, PromptAnswers & { answers: Map<string, string> }>();
  const modelsBySource = visitGenerationRuns({
    from,
    visit: ({ directory, store, evaluation, config, models }) => {
      const judge = createJudgeRepository({ database: store.database });
      for (const benchmark of config.benchmarks) {
        const items = evaluation.loadItems(GENERATION_RUN_ID, benchmark).map((entry) => entry.item as GenerationItem);
        for (const model of models) {
          const answers = judge.loadGenerations({ runId: GENERATION_RUN_ID, model, benchmark });
          for (const item of items) {
            const answer = answers.get(item.id);
            if (answer === undefined) continue;
            const key = `${benchmark}\u0000${item.id}`;
            let entry = byKey.get(key);
            if (entry === undefined) {
              entry = {
                source: directory,
                benchmark,
                itemId: item.id,
                question: item.question,
                prompt: item.prompt,
                answers: new Map(),
              };
              byKey.set(key, entry);
            }
            entry.answers.set(model, answer.text);
          }
        }
      }
    },
  });
  return { prompts: [...byKey.values()], modelsBySource };
}

/** What `human-eval create` printed once. */
export interface CreatedStudy {
  studyId: string;
  directory: string;
  items: number;
  goldItems: number;
  /** One private link per rater, in rater order. */
  raterLinks: { raterId: string; link: string }[];
  adminLink: string;
  /** Items whose answers hold identity words (flagged for review). */
  flagged: number;
}

/** Options of {@link createStudy}. */
export interface CreateStudyOptions {
  /** Generation-mode evaluation run directories. */
  from: readonly string[];
  out: string;
  settings: StudySettings;
  /** Gold pairs added to the shipped ones (`--gold-file`). */
  extraGoldPairs?: readonly GoldPair[];
  /** Base of the printed links; default `http://127.0.0.1:7860`. */
  baseUrl?: string;
}

/** Creates the study directory and returns its links. */
export async function createStudy({
  from,
  out,
  settings,
  extraGoldPairs = [],
  baseUrl = "http://127.0.0.1:7860",
}: CreateStudyOptions): Promise<CreatedStudy> {
  if (existsSync(out) && readdirSync(out).length > 0) {
    throw new UsageError(
      `--out ${out} is not empty: a study is never replaced (its votes would be lost); choose another --out`,
      {
        field: "--out",
      },
    );
  }
  const { prompts, modelsBySource } = loadPromptAnswers({ from });
  const known = [...modelsBySource.values()].flat();
  const missing = settings.models.filter((model) => !known.includes(model));
  if (missing.length > 0) {
    throw new UsageError(`--models ${missing.join(", ")} not found in --from (it holds ${known.join(", ")})`, {
      field: "--models",
    });
  }
  const plan = planStudy({ prompts, goldPairs: [...GOLD_PAIRS, ...extraGoldPairs], settings });
  const studyId = basename(resolve(out)).replace(/[^A-Za-z0-9_-]/g, "-") || "study";
  const adminToken = createToken();
  const tokens = plan.raterIds.map((raterId) => ({ raterId, token: createToken() }));
  await writeDirectoryAtomically({ directory: out }, async (temporary) => {
    const store = openStore({ path: join(temporary, STUDY_FILE) });
    try {
      createHumanEvalRepository({ database: store.database }).createStudy({
        study: {
          studyId,
          config: { ...settings, from: from.map((directory) => resolve(directory)) },
          secret: randomBytes(32).toString("hex"),
          adminTokenSha256: hashToken(adminToken),
        },
        items: plan.items,
        raters: tokens.map(({ raterId, token }) => ({ raterId, tokenSha256: hashToken(token) })),
        assignments: plan.assignments,
      });
    } finally {
      store.close();
    }
  });
  const base = `${baseUrl.replace(/\/$/, "")}/studies/${encodeURIComponent(studyId)}`;
  return {
    studyId,
    directory: resolve(out),
    items: plan.items.filter((item) => item.kind === "pair").length,
    goldItems: plan.items.filter((item) => item.kind === "gold").length,
    raterLinks: tokens.map(({ raterId, token }) => ({ raterId, link: `${base}/rate/${token}` })),
    adminLink: `${base}/admin?token=${adminToken}`,
    flagged: plan.items.filter((item) => item.flags.length > 0).length,
  };
}
