/**
 * What every experiment step gets and reports, and how a step finds the outputs of the nodes it
 * builds on (the model directory of a model-init or train node, or the recipe's start checkpoint).
 */
import { join } from "node:path";
import { ConfigError } from "../spec/errors.js";
import { resolveCheckpointDirectory } from "./checkpoint-directory.js";
import type { ExperimentNode } from "./experiment-nodes.js";
import type { ModelFactoryOptions } from "./model-factory.js";
import type { Recipe } from "./recipe.js";
import { recipePath } from "./recipe.js";
import type { UsageSummary } from "./usage-ledger.js";

/** Model-building settings of a run (secrets, cache, prices, endpoints, test models); no store. */
export type ExperimentModelSettings = Omit<
  ModelFactoryOptions,
  "store" | "spentUsd" | "budgetUsd" | "maxConcurrency" | "llamaThreads" | "localThreads"
>;

/** LM usage of a step (its store's ledger, every session together). */
export type StepUsage = UsageSummary;

/** What a step reports; stored in its node's completion marker. */
export interface StepOutcome {
  usage?: StepUsage;
  /** Small step-specific facts for the report (round summaries, data counts, final loss, ...). */
  details?: Record<string, unknown>;
}

/** What every step gets. */
export interface StepContext {
  recipe: Recipe;
  recipeDirectory: string;
  node: ExperimentNode;
  nodes: ReadonlyMap<string, ExperimentNode>;
  models: ExperimentModelSettings;
  signal?: AbortSignal;
}

export const upstreamOf = (context: StepContext, kind: ExperimentNode["kind"]): ExperimentNode | undefined =>
  context.node.upstream.map((name) => context.nodes.get(name)).find((node) => node?.kind === kind);

/** The model directory a node produced (model-init or train), or the recipe's start checkpoint. */
export async function modelDirectoryOf(context: StepContext, node: ExperimentNode | undefined): Promise<string> {
  if (node?.kind === "model-init") return join(node.directory, "model");
  if (node?.kind === "train") return join(node.directory, "run", "model");
  const start = context.recipe.training.start;
  if (!("checkpoint" in start)) throw new ConfigError("internal: a model-init start without its node");
  return resolveCheckpointDirectory({
    model: recipePath(context.recipeDirectory, start.checkpoint),
    cacheDirectory: context.models.cacheDirectory,
    ...(context.models.secrets?.huggingFace ? { huggingFace: context.models.secrets.huggingFace } : {}),
    flag: "training.start.checkpoint",
    ...(context.signal ? { signal: context.signal } : {}),
  });
}
