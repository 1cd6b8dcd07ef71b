/**
 * The resolved configuration of a simulation, written to `config.json` in the run directory. Its
 * world-defining part (everything but `rounds`, `untilPlateau` and `runtime`) names the run: the run id
 * is its hash, so the same configuration replays from the response cache, and resuming a run dir with
 * a different world is refused with the fields that differ.
 */
import { createHash } from "node:crypto";
import type { PromptName, PromptProvenance, PromptTemplates } from "../llm/prompts/prompt-templates.js";
import type { RatingFormat } from "../llm/ratings.js";
import { ConfigError } from "../spec/errors.js";
import type { InitialSetting } from "../spec/interaction-record.js";
import type { SamplingOptions } from "../spec/language-model.js";
import type { PlateauSettings } from "./plateau.js";
import { type Prior, samplePriorMemories } from "./prior-loader.js";
import { validateTargetSettings } from "./target-selection.js";
import { initialLabels } from "./world.js";

/** Everything that determines a simulation's records. */
export interface SimulationConfig {
  /** Format version of this object. */
  version: 1;
  world: { size: number; setting: InitialSetting; seed: number };
  /** Most rounds to run (with `untilPlateau`: the cap). */
  rounds: number;
  /** Stop early at a plateau (SPEC 1.8); null: run all rounds. */
  untilPlateau: PlateauSettings | null;
  selection: { targets: number; global: boolean; dropout: number };
  backScatter: {
    scoreOnly: boolean;
    maxRatingAttempts: number;
    ratingFormat: RatingFormat;
    agentSampling: SamplingOptions;
    observerSampling: SamplingOptions;
    agentSystemPrompt: boolean;
  };
  models: {
    /** Agent model specs with their share of the society. */
    agents: { spec: string; weight: number }[];
    observer: string;
    embedder: string;
  };
  memory: { distanceThreshold: number; priorSize: number };
  questions: { source: string; count: number; sha256: string; shuffled: boolean };
  prior: { source: string; format: string; good: number; bad: number; skipped: number; sha256: string };
  prompts: Record<PromptName, PromptProvenance>;
  /** How this invocation ran; free to change between resumes. */
  runtime?: Record<string, unknown>;
}

const RESUMABLE_FIELDS = new Set(["rounds", "untilPlateau", "runtime"]);

/** The part of a config that must match to resume a run. */
export function worldDefiningConfig(config: SimulationConfig): Record<string, unknown> {
  return Object.fromEntries(Object.entries(config).filter(([key]) => !RESUMABLE_FIELDS.has(key)));
}

function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${stableStringify(item)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** The run id: 16 hex digits of the hash of the world-defining config. */
export function simulationRunId(config: SimulationConfig): string {
  return createHash("sha256")
    .update(stableStringify(worldDefiningConfig(config)))
    .digest("hex")
    .slice(0, 16);
}

/** The dotted paths where two world-defining configs differ. */
export function configDifferences(stored: unknown, wanted: SimulationConfig): string[] {
  const differences: string[] = [];
  const walk = (left: unknown, right: unknown, path: string): void => {
    if (stableStringify(left) === stableStringify(right)) return;
    const bothObjects =
      left !== null &&
      right !== null &&
      typeof left === "object" &&
      typeof right === "object" &&
      !Array.isArray(left) &&
      !Array.isArray(right);
    if (!bothObjects) {
      differences.push(path);
      return;
    }
    const keys = new Set([...Object.keys(left as object), ...Object.keys(right as object)]);
    for (const key of [...keys].sort()) {
      walk(
        (left as Record<string, unknown>)[key],
        (right as Record<string, unknown>)[key],
        path === "" ? key : `${path}.${key}`,
      );
    }
  };
  const storedPart =
    stored !== null && typeof stored === "object"
      ? Object.fromEntries(
          Object.entries(stored as Record<string, unknown>).filter(([key]) => !RESUMABLE_FIELDS.has(key)),
        )
      : stored;
  walk(storedPart, worldDefiningConfig(wanted), "");
  return differences;
}

/** Throws a ConfigError listing the differing fields when `stored` (a run dir's config) conflicts with `wanted`. */
export function assertResumable(stored: unknown, wanted: SimulationConfig, file: string): void {
  const differences = configDifferences(stored, wanted);
  if (differences.length === 0) return;
  throw new ConfigError(
    `${file}: the run directory holds a different simulation (differs in ${differences.join(", ")}); ` +
      "pass the same flags to resume it, or choose another --run-dir",
    { file, field: differences[0] },
  );
}

/** Inputs of {@link resolveSimulationConfig}; defaults follow the reference. */
export interface SimulationConfigInput {
  size: number;
  setting: InitialSetting;
  /** Default 0. */
  seed?: number;
  rounds: number;
  untilPlateau?: PlateauSettings | null;
  /** Default 4. */
  targets?: number;
  /** Default false. */
  global?: boolean;
  /** Default 0.5. */
  dropout?: number;
  scoreOnly?: boolean;
  /** Default 3. */
  maxRatingAttempts?: number;
  ratingFormat?: RatingFormat;
  /** Default temperature 1, 256 tokens. */
  agentSampling?: SamplingOptions;
  /** Default temperature 1, 256 tokens. */
  observerSampling?: SamplingOptions;
  agentSystemPrompt?: boolean;
  agentModels: readonly { spec: string; weight: number }[];
  observerModel: string;
  embedder: { modelId: string; distanceThreshold: number };
  /** Prior pairs per agent. Default 50. */
  priorSize?: number;
  questions: { source: string; pool: readonly string[]; shuffled?: boolean };
  prior: Prior;
  prompts: PromptTemplates;
  runtime?: Record<string, unknown>;
}

const sha256Of = (parts: readonly string[]): string => {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part).update("\u0000");
  return hash.digest("hex");
};

/**
 * Validates the inputs and returns the resolved config. Throws ConfigError for settings that cannot
 * run (global selection that cannot be met, a prior with too few pairs of a label, bad numbers)
 * before anything is written.
 */
export function resolveSimulationConfig(input: SimulationConfigInput): SimulationConfig {
  const seed = input.seed ?? 0;
  const selection = { targets: input.targets ?? 4, global: input.global ?? false, dropout: input.dropout ?? 0.5 };
  validateTargetSettings(selection, input.size);
  if (!Number.isInteger(input.rounds) || input.rounds < 1) {
    throw new ConfigError(`--rounds must be a positive integer, got ${input.rounds}`, { field: "rounds" });
  }
  const maxRatingAttempts = input.maxRatingAttempts ?? 3;
  if (!Number.isInteger(maxRatingAttempts) || maxRatingAttempts < 1) {
    throw new ConfigError(`rating attempts must be a positive integer, got ${maxRatingAttempts}`, {
      field: "rating-attempts",
    });
  }
  if (input.questions.pool.length === 0) {
    throw new ConfigError(`${input.questions.source}: the question pool is empty`, { field: "questions" });
  }
  const priorSize = input.priorSize ?? 50;
  const labels = initialLabels({ size: input.size, setting: input.setting, seed });
  // Sampling checks that every label present has enough pairs; the sample itself is drawn again at run start.
  samplePriorMemories({ prior: input.prior, labels, perAgent: priorSize, seed });
  const priorParts = (["good", "bad"] as const).flatMap((label) =>
    input.prior.answers[label].flatMap((pair) => [label, pair.question, pair.answer]),
  );
  return {
    version: 1,
    world: { size: input.size, setting: input.setting, seed },
    rounds: input.rounds,
    untilPlateau: input.untilPlateau ?? null,
    selection,
    backScatter: {
      scoreOnly: input.scoreOnly ?? false,
      maxRatingAttempts,
      ratingFormat: input.ratingFormat ?? "auto",
      agentSampling: input.agentSampling ?? { temperature: 1, maxTokens: 256 },
      observerSampling: input.observerSampling ?? { temperature: 1, maxTokens: 256 },
      agentSystemPrompt: input.agentSystemPrompt ?? true,
    },
    models: {
      agents: input.agentModels.map((model) => ({ ...model })),
      observer: input.observerModel,
      embedder: input.embedder.modelId,
    },
    memory: { distanceThreshold: input.embedder.distanceThreshold, priorSize },
    questions: {
      source: input.questions.source,
      count: input.questions.pool.length,
      sha256: sha256Of(input.questions.pool),
      shuffled: input.questions.shuffled ?? false,
    },
    prior: {
      source: input.prior.source,
      format: input.prior.format,
      good: input.prior.answers.good.length,
      bad: input.prior.answers.bad.length,
      skipped: input.prior.skipped,
      sha256: sha256Of(priorParts),
    },
    prompts: input.prompts.provenance,
    ...(input.runtime === undefined ? {} : { runtime: input.runtime }),
  };
}
