/**
 * Every setting that shapes a training trajectory, with the defaults of the reference model card for a
 * pretrained start. A run stores its settings; `--resume` refuses different ones by naming the flag.
 */
import { LORA_TARGETS, type LoraSettings } from "../model/llama/index.js";
import { ConfigError } from "../spec/errors.js";

/** The objectives the trainer knows (SPEC 3 and its baselines). */
export const TRAINING_LOSSES = ["stable-alignment", "sft", "dpo", "rrhf"] as const;
export type TrainingLoss = (typeof TRAINING_LOSSES)[number];

/** How a row's query becomes the prompt the model reads. */
export const PROMPT_FORMATS = ["verbatim", "chat", "hh"] as const;
export type PromptFormat = (typeof PROMPT_FORMATS)[number];

/** Data kinds trained one after the other with `--stages` (SPEC 3), or `mixture` for one pass. */
export const TRAINING_STAGES = ["imitation", "self-critic", "realignment"] as const;
export type TrainingStage = (typeof TRAINING_STAGES)[number];

/** Settings of one training run. Units: learning rate per step, lengths in tokens. */
export interface TrainingSettings {
  loss: TrainingLoss;
  /** Stable Alignment margin M. */
  margin: number;
  /** Stable Alignment penalty ratio lambda. */
  ratio: number;
  /** Top of the rating scale R; ratings outside 1..R are refused. */
  ratingScale: number;
  /** Responses sampled per prompt (Stable Alignment). */
  numComp: number;
  /** Stable Alignment: aggregate by the maximum difference instead of the mean. */
  maxFlow: boolean;
  /** DPO beta. */
  beta: number;
  /** DPO label smoothing in [0, 0.5). */
  labelSmoothing: number;
  /** DPO pairs per prompt. */
  dpoPairs: "best-worst" | "all";
  epochs: number;
  /** Peak learning rate. */
  learningRate: number;
  /** Share of all optimizer steps spent warming up linearly, in [0, 1). */
  warmup: number;
  weightDecay: number;
  /** Prompts whose gradients are summed before one optimizer step. */
  gradientAccumulation: number;
  /** Global gradient-norm clip. */
  maxGradientNorm: number;
  /** Longest sequence (prompt + response) in tokens; the prompt is cut from the left. */
  maxLength: number;
  /** Share of source ids held out for evaluation, in [0, 1). */
  evalSplit: number;
  /** Evaluate every this many optimizer steps (0: only at the end). */
  evalEvery: number;
  /** Save a checkpoint every this many optimizer steps (0: only at the end). */
  saveEvery: number;
  seed: number;
  /** Data kinds in training order, or undefined for one pass over the mixture. */
  stages: TrainingStage[] | undefined;
  promptFormat: PromptFormat;
  /** LoRA adapters on a frozen base (undefined: full fine-tune). */
  lora: LoraSettings | undefined;
}

/** Defaults for a pretrained start (the reference model card); `init` is a start made by `model init`. */
export function defaultTrainingSettings({
  start = "pretrained",
}: {
  start?: "pretrained" | "init";
} = {}): TrainingSettings {
  return {
    loss: "stable-alignment",
    margin: 1,
    ratio: 0.2,
    ratingScale: 7,
    numComp: 3,
    maxFlow: false,
    beta: 0.1,
    labelSmoothing: 0,
    dpoPairs: "best-worst",
    epochs: 2,
    learningRate: start === "init" ? 1e-3 : 2e-5,
    warmup: 0.03,
    weightDecay: 0,
    gradientAccumulation: 8,
    maxGradientNorm: 1,
    maxLength: 512,
    evalSplit: 0.05,
    evalEvery: 0,
    saveEvery: 0,
    seed: 0,
    stages: undefined,
    promptFormat: "verbatim",
    lora: undefined,
  };
}

/** The flag that sets each setting, for messages. */
export const SETTING_FLAGS: Readonly<Record<keyof TrainingSettings, string>> = {
  loss: "--loss",
  margin: "--margin",
  ratio: "--ratio",
  ratingScale: "--rating-scale",
  numComp: "--num-comp",
  maxFlow: "--max-flow",
  beta: "--beta",
  labelSmoothing: "--label-smoothing",
  dpoPairs: "--dpo-pairs",
  epochs: "--epochs",
  learningRate: "--lr",
  warmup: "--warmup",
  weightDecay: "--weight-decay",
  gradientAccumulation: "--grad-accum",
  maxGradientNorm: "--max-grad-norm",
  maxLength: "--max-length",
  evalSplit: "--eval-split",
  evalEvery: "--eval-every",
  saveEvery: "--save-every",
  seed: "--seed",
  stages: "--stages",
  promptFormat: "--prompt-format",
  lora: "--lora-rank/--lora-alpha/--lora-targets/--lora-dropout",
};

/** Throws ConfigError naming the flag of the first impossible value. */
export function validateTrainingSettings(settings: TrainingSettings): TrainingSettings {
  const fail = (key: keyof TrainingSettings, rule: string): never => {
    throw new ConfigError(`${SETTING_FLAGS[key]} ${rule}, got ${JSON.stringify(settings[key])}`, { field: key });
  };
  const positiveInteger = (key: keyof TrainingSettings) => {
    const value = settings[key];
    if (typeof value !== "number" || !Number.isInteger(value) || value < 1) fail(key, "must be a positive integer");
  };
  const nonNegativeInteger = (key: keyof TrainingSettings) => {
    const value = settings[key];
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0) fail(key, "must be a non-negative integer");
  };
  const within = (key: keyof TrainingSettings, { minimum = 0, below }: { minimum?: number; below?: number } = {}) => {
    const value = settings[key];
    const rule = below === undefined ? `must be a number >= ${minimum}` : `must be in [${minimum}, ${below})`;
    if (typeof value !== "number" || Number.isNaN(value) || value < minimum) fail(key, rule);
    if (below !== undefined && (value as number) >= below) fail(key, rule);
  };
  const positive = (key: keyof TrainingSettings) => {
    const value = settings[key];
    if (typeof value !== "number" || !(value > 0) || !Number.isFinite(value)) fail(key, "must be a positive number");
  };
  if (!TRAINING_LOSSES.includes(settings.loss)) fail("loss", `must be one of ${TRAINING_LOSSES.join(", ")}`);
  if (!PROMPT_FORMATS.includes(settings.promptFormat))
    fail("promptFormat", `must be one of ${PROMPT_FORMATS.join(", ")}`);
  if (settings.dpoPairs !== "best-worst" && settings.dpoPairs !== "all") fail("dpoPairs", "must be best-worst or all");
  within("margin");
  within("ratio");
  positiveInteger("ratingScale");
  positiveInteger("numComp");
  if (settings.numComp < 2 && settings.loss === "stable-alignment")
    fail("numComp", "must be at least 2 for stable-alignment");
  positive("beta");
  within("labelSmoothing", { below: 0.5 });
  positiveInteger("epochs");
  positive("learningRate");
  within("warmup", { below: 1 });
  within("weightDecay");
  positiveInteger("gradientAccumulation");
  if (!(settings.maxGradientNorm > 0))
    fail("maxGradientNorm", "must be a positive number (Infinity disables clipping)");
  positiveInteger("maxLength");
  if (settings.maxLength < 2) fail("maxLength", "must leave room for a prompt token and a response token");
  within("evalSplit", { below: 1 });
  nonNegativeInteger("evalEvery");
  nonNegativeInteger("saveEvery");
  nonNegativeInteger("seed");
  if (settings.stages !== undefined) {
    if (settings.stages.length === 0 || settings.stages.some((stage) => !TRAINING_STAGES.includes(stage))) {
      fail("stages", `must list some of ${TRAINING_STAGES.join(", ")}`);
    }
    if (new Set(settings.stages).size !== settings.stages.length) fail("stages", "must not repeat a stage");
  }
  if (settings.lora !== undefined) validateLoraSettings(settings.lora);
  return settings;
}

/** Throws ConfigError naming the --lora-* flag of the first impossible LoRA setting. */
export function validateLoraSettings(lora: LoraSettings): LoraSettings {
  const fail = (flag: string, field: string, rule: string, value: unknown): never => {
    throw new ConfigError(`${flag} ${rule}, got ${JSON.stringify(value)}`, { field });
  };
  if (!Number.isInteger(lora.rank) || lora.rank < 1)
    fail("--lora-rank", "lora", "must be a positive integer", lora.rank);
  if (!(lora.alpha > 0) || !Number.isFinite(lora.alpha))
    fail("--lora-alpha", "lora", "must be a positive number", lora.alpha);
  if (!(lora.dropout >= 0 && lora.dropout < 1)) fail("--lora-dropout", "lora", "must be in [0, 1)", lora.dropout);
  if (
    lora.targets.length === 0 ||
    lora.targets.some((target) => !LORA_TARGETS.includes(target)) ||
    new Set(lora.targets).size !== lora.targets.length
  ) {
    fail("--lora-targets", "lora", `must list some of ${LORA_TARGETS.join(",")} once each`, lora.targets.join(","));
  }
  return lora;
}

/** The flag of the first setting that differs between a stored run and this invocation, if any. */
export function firstDifferentSetting(stored: TrainingSettings, current: TrainingSettings): string | undefined {
  for (const key of Object.keys(SETTING_FLAGS) as (keyof TrainingSettings)[]) {
    if (JSON.stringify(stored[key]) !== JSON.stringify(current[key])) {
      return `${SETTING_FLAGS[key]} (${JSON.stringify(stored[key])} in the run, ${JSON.stringify(current[key])} now)`;
    }
  }
  return undefined;
}
