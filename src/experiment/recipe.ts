/**
 * The experiment recipe: one YAML file describing a whole study (society, data build, training,
 * evaluation, generations). Validated with zod; every error is one line naming the file, the line and
 * the field path (`society.size`). Paths inside a recipe are relative to the recipe's folder.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { isNode, LineCounter, parseDocument } from "yaml";
import { z } from "zod";
import { parseDataMix } from "../data/data-mix.js";
import { BENCHMARK_NAMES } from "../eval/benchmarks.js";
import { GENERATION_BENCHMARKS } from "../eval/generation-items.js";
import { parseEmbeddingSpec, parseModelSpec } from "../llm/model-spec.js";
import { LORA_TARGETS } from "../model/llama/index.js";
import { ConfigError } from "../spec/errors.js";
import { INITIAL_SETTINGS } from "../spec/interaction-record.js";
import { PROMPT_FORMATS, TRAINING_LOSSES, TRAINING_STAGES } from "../train/training-settings.js";

const positiveInteger = z.number().int().positive();

/**
 * A string the given parser accepts; its error message becomes the issue, so a bad model spec or mix
 * fails when the recipe is read, naming the line and field, not after earlier steps have run.
 */
const parsedBy = (parse: (text: string) => unknown) =>
  z
    .string()
    .min(1)
    .superRefine((text, context) => {
      try {
        parse(text);
      } catch (error) {
        context.addIssue({ code: "custom", message: (error as Error).message.replace(/^--mix /, "") });
      }
    });
const modelSpecSchema = parsedBy(parseModelSpec);
const samplingSchema = z.strictObject({
  temperature: z.number().min(0).max(2).default(1),
  maxTokens: positiveInteger.default(256),
});

/** One agent model of the society and its weight (the share of agents running it). */
const agentSchema = z.strictObject({
  /** Model spec of generation 1. */
  model: modelSpecSchema,
  weight: z.number().positive().default(1),
  /** Whether these agents run the newly trained model from generation 2 on. Default true. */
  trained: z.boolean().default(true),
});

const societySchema = z
  .strictObject({
    /** Grid side: size x size agents. */
    size: z.number().int().min(2).max(100),
    setting: z.enum(INITIAL_SETTINGS).default("mixed_half_half"),
    /** Rounds per generation; with `plateau`, the cap. */
    rounds: positiveInteger.optional(),
    plateau: z
      .strictObject({
        tolerance: z.number().min(0).default(0.01),
        patience: positiveInteger.default(2),
        minRounds: positiveInteger.default(2),
      })
      .optional(),
    seed: z.number().int().min(0).default(0),
    targets: positiveInteger.default(4),
    /** `starter` (built in) or a question file: text one per line, or JSONL {question}. */
    questions: z.string().min(1).default("starter"),
    /** `starter` or a prior file: JSONL {question, answer, label} or HH-RLHF {chosen, rejected}. */
    prior: z.string().min(1).default("starter"),
    priorSize: positiveInteger.optional(),
    /** Questions each generation draws (a fresh, disjoint slice). Default: the pool split evenly. */
    questionsPerGeneration: positiveInteger.optional(),
    agents: z.array(agentSchema).min(1),
    observer: modelSpecSchema,
    embedder: parsedBy(parseEmbeddingSpec).default("lexical"),
    agentSampling: samplingSchema.default({ temperature: 1, maxTokens: 256 }),
    observerSampling: samplingSchema.default({ temperature: 1, maxTokens: 256 }),
    ratingAttempts: positiveInteger.default(3),
    /** Calls in flight per HTTP endpoint. */
    concurrency: positiveInteger.default(16),
  })
  .refine((society) => society.rounds !== undefined || society.plateau !== undefined, {
    message: "give rounds, plateau, or both (rounds is then the cap)",
    path: ["rounds"],
  });

const dataSchema = z.strictObject({
  /** `all`, or the imitation:self-critic:realignment ratio. Default the reference's 5:1:1. */
  mix: parsedBy(parseDataMix).default("5:1:1"),
  seed: z.number().int().min(0).default(0),
});

const startSchema = z.union([
  z.strictObject({
    /** `model init`: a preset (tiny, small, 30m) or a config.json path. */
    init: z.string().min(1),
    /** Tokenizer training files; default the society's question pool and prior texts. */
    tokenizerFiles: z.array(z.string().min(1)).optional(),
    /** A tokenizer directory to use instead of training one. */
    tokenizer: z.string().min(1).optional(),
    vocab: z.number().int().min(259).optional(),
    seed: z.number().int().min(0).default(0),
  }),
  z.strictObject({
    /** A checkpoint directory or `hf:<owner>/<repo>[@revision]`. */
    checkpoint: z.string().min(1),
  }),
]);

const trainingSchema = z.strictObject({
  start: startSchema,
  objective: z.enum(TRAINING_LOSSES).default("stable-alignment"),
  /** `engine` (this package's CPU trainer) or `torch` (the PyTorch backend, `train --backend torch`). */
  backend: z.enum(["engine", "torch"]).default("engine"),
  /** The PyTorch backend's launch: device, processes on this machine, precision. */
  torch: z
    .strictObject({
      device: z.enum(["cpu", "cuda"]).default("cpu"),
      processesPerNode: positiveInteger.default(1),
      precision: z.enum(["fp32", "bf16"]).default("fp32"),
    })
    .default({ device: "cpu", processesPerNode: 1, precision: "fp32" }),
  lora: z
    .strictObject({
      rank: positiveInteger,
      alpha: z.number().positive().optional(),
      dropout: z.number().min(0).lt(1).default(0),
      targets: z.array(z.enum(LORA_TARGETS)).min(1).default(["q", "v"]),
    })
    .optional(),
  /** Training settings by their `train` names; absent ones take the defaults for the start. */
  hyperparameters: z
    .strictObject({
      epochs: positiveInteger.optional(),
      learningRate: z.number().positive().optional(),
      warmup: z.number().min(0).lt(1).optional(),
      weightDecay: z.number().min(0).optional(),
      gradientAccumulation: positiveInteger.optional(),
      maxGradientNorm: z.number().positive().optional(),
      maxLength: positiveInteger.optional(),
      evalSplit: z.number().min(0).lt(1).optional(),
      margin: z.number().optional(),
      ratio: z.number().min(0).optional(),
      beta: z.number().positive().optional(),
      numComp: positiveInteger.optional(),
      seed: z.number().int().min(0).optional(),
      stages: z.array(z.enum(TRAINING_STAGES)).min(1).optional(),
      promptFormat: z.enum(PROMPT_FORMATS).optional(),
    })
    .default({}),
  /** BLAS threads. Default 1. */
  threads: positiveInteger.default(1),
});

const evaluationSchema = z
  .strictObject({
    /** Likelihood benchmarks. */
    benchmarks: z
      .array(
        z.strictObject({
          name: z.enum(BENCHMARK_NAMES),
          /** A local copy of the data; absent: downloaded into the cache. */
          data: z.string().min(1).optional(),
        }),
      )
      .default([]),
    /** Items per benchmark subset. Default: all. */
    limit: positiveInteger.optional(),
    seed: z.number().int().min(0).default(0),
    /** BLAS threads for `local:` scoring and generation. Default 1. */
    threads: positiveInteger.default(1),
    /** Generation mode: each generation's model answers, the judge rates (`eval run --mode generation`). */
    judge: z
      .strictObject({
        model: modelSpecSchema,
        /** `sandbox` asks the society's question pool less every question the model was trained on. */
        benchmarks: z
          .array(
            z.strictObject({
              name: z.enum(GENERATION_BENCHMARKS),
              data: z.string().min(1).optional(),
            }),
          )
          .min(1),
        /** Items per benchmark. Default all. */
        limit: positiveInteger.optional(),
      })
      .optional(),
  })
  .refine((evaluation) => evaluation.benchmarks.length > 0 || evaluation.judge !== undefined, {
    message: "give benchmarks, a judge, or both",
    path: ["benchmarks"],
  });

/** How a trained model serves as an agent in the next generation. */
const servingSchema = z
  .discriminatedUnion("kind", [
    z.strictObject({
      /** Exported to GGUF and run in process by llama.cpp. */
      kind: z.literal("gguf"),
      threads: positiveInteger.default(1),
      dtype: z.enum(["f32", "f16"]).default("f32"),
    }),
    z.strictObject({
      /** Run in process on this package's engine (`local:<dir>`). */
      kind: z.literal("local"),
    }),
    z.strictObject({
      /** Exported to GGUF and served by a command (llama.cpp's server, vLLM, ...) for the society. */
      kind: z.literal("server"),
      /** Shell command line; `{model}` is replaced by the GGUF path. */
      command: z.string().min(1),
      /** Its OpenAI-compatible base URL, e.g. `http://127.0.0.1:8081/v1`. */
      url: z.url(),
      /** The model name to ask for. Default `trained`. */
      model: z.string().min(1).default("trained"),
      dtype: z.enum(["f32", "f16"]).default("f32"),
      /** Seconds to wait for the server to answer. Default 120. */
      readySeconds: positiveInteger.default(120),
    }),
  ])
  .default({ kind: "gguf", threads: 1, dtype: "f32" });

/** The recipe schema. */
export const recipeSchema = z.strictObject({
  name: z.string().min(1).optional(),
  generations: positiveInteger.max(100).default(1),
  society: societySchema,
  data: dataSchema.default({ mix: "5:1:1", seed: 0 }),
  training: trainingSchema,
  evaluation: evaluationSchema,
  serving: servingSchema,
});

/** Resolves a recipe path (relative to the recipe's folder); `starter` stays as it is. */
export function recipePath(directory: string, path: string): string {
  return path === "starter" || isAbsolute(path) ? path : resolve(directory, path);
}

/** A validated recipe, defaults filled in. */
export type Recipe = z.infer<typeof recipeSchema>;

/** A recipe and where it came from. */
export interface LoadedRecipe {
  recipe: Recipe;
  /** The recipe file. */
  file: string;
  /** The folder recipe paths are relative to. */
  directory: string;
  /**
   * The error naming the recipe file, the line of a field (a path such as `["society", "agents", 0,
   * "model"]`; a missing field points at its nearest existing parent) and the field, with `message`.
   */
  errorAt(fieldPath: readonly PropertyKey[], message: string): ConfigError;
}

/** Reads and validates a recipe file; ConfigError naming file, line and field on any problem. */
export function loadRecipe({ file }: { file: string }): LoadedRecipe {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (cause) {
    throw new ConfigError(`${file}: cannot read the recipe (${(cause as Error).message})`, { file, cause });
  }
  const directory = dirname(file);
  return { ...parseRecipeDocument({ text, file, directory }), file, directory };
}

/** The recipe's file and folder paths (other than `starter`), each with its field path. */
function recipeFiles(recipe: Recipe): { path: (string | number)[]; value: string }[] {
  const files: { path: (string | number)[]; value: string }[] = [
    { path: ["society", "questions"], value: recipe.society.questions },
    { path: ["society", "prior"], value: recipe.society.prior },
  ];
  const start = recipe.training.start as { tokenizerFiles?: readonly string[]; tokenizer?: string };
  if (start.tokenizer !== undefined) files.push({ path: ["training", "start", "tokenizer"], value: start.tokenizer });
  for (const [index, value] of (start.tokenizerFiles ?? []).entries()) {
    files.push({ path: ["training", "start", "tokenizerFiles", index], value });
  }
  for (const [index, benchmark] of recipe.evaluation.benchmarks.entries()) {
    if (benchmark.data !== undefined)
      files.push({ path: ["evaluation", "benchmarks", index, "data"], value: benchmark.data });
  }
  for (const [index, benchmark] of (recipe.evaluation.judge?.benchmarks ?? []).entries()) {
    if (benchmark.data !== undefined) {
      files.push({ path: ["evaluation", "judge", "benchmarks", index, "data"], value: benchmark.data });
    }
  }
  return files.filter((file) => file.value !== "starter");
}

/** Validates recipe YAML text; `file` names it in messages. Files the recipe names are not checked. */
export function parseRecipe({ text, file }: { text: string; file: string }): Recipe {
  return parseRecipeDocument({ text, file }).recipe;
}

/**
 * Validates recipe YAML text; `file` names it in messages. With `directory` (the folder recipe paths
 * are relative to; default none) every file the recipe names must exist, so a missing one is refused
 * before anything runs.
 */
function parseRecipeDocument({ text, file, directory }: { text: string; file: string; directory?: string }): {
  recipe: Recipe;
  errorAt: LoadedRecipe["errorAt"];
} {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false });
  const yamlError = document.errors[0];
  if (yamlError !== undefined) {
    const line = lineCounter.linePos(yamlError.pos[0]).line;
    throw new ConfigError(`${file}:${line}: not valid YAML: ${yamlError.message.split("\n")[0]}`, { file });
  }
  // The line of the deepest node of the path that exists (a missing field points at its parent).
  const lineOf = (fieldPath: readonly PropertyKey[]): number | undefined => {
    for (let depth = fieldPath.length; depth >= 0; depth -= 1) {
      const node = depth === 0 ? document.contents : document.getIn(fieldPath.slice(0, depth) as never, true);
      if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
    }
    return undefined;
  };
  const errorAt = (fieldPath: readonly PropertyKey[], message: string): ConfigError => {
    const field = fieldPath.map(String).join(".") || "(recipe)";
    const line = lineOf(fieldPath);
    return new ConfigError(`${file}${line === undefined ? "" : `:${line}`}: field "${field}": ${message}`, {
      file,
      field,
    });
  };
  const parsed = recipeSchema.safeParse(document.toJS());
  if (!parsed.success) {
    const issue = parsed.error.issues[0] as z.core.$ZodIssue;
    throw errorAt(issue.path, issue.message);
  }
  if (directory !== undefined) {
    for (const { path, value } of recipeFiles(parsed.data)) {
      const resolved = recipePath(directory, value);
      if (!existsSync(resolved)) throw errorAt(path, `no such file or folder: ${resolved}`);
    }
  }
  return { recipe: parsed.data, errorAt };
}
