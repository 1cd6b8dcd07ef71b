/**
 * `experiment plan`: the nodes a run would execute or skip (by their completion markers in `out`),
 * the LM cost of each society (from an injected {@link SimulationCostEstimator}) and the expected
 * training time from measured engine rates. Every number here is an estimate and says so.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { readCheckpointConfig } from "../model/checkpoint-config.js";
import { llamaParameterLayout, llamaPresets } from "../model/llama/index.js";
import type { ExperimentNode } from "./experiment-nodes.js";
import { readNodeMarker } from "./node-marker.js";
import type { Recipe } from "./recipe.js";
import { recipePath } from "./recipe.js";

/** What one society is expected to cost; a range when it stops at a plateau. */
export interface SimulationCostEstimate {
  chatCalls: { minimum: number; maximum: number };
  embeddingCalls: { minimum: number; maximum: number };
  promptTokens: { minimum: number; maximum: number };
  completionTokens: { minimum: number; maximum: number };
  usd: { minimum: number; maximum: number };
  wallSeconds: { minimum: number; maximum: number };
}

/** Estimates one society node (see society-estimate.ts for the one built on estimateSimulation). */
export type SimulationCostEstimator = (input: {
  node: ExperimentNode;
  nodes: ReadonlyMap<string, ExperimentNode>;
}) => Promise<SimulationCostEstimate>;

/**
 * Full fine-tune training throughput of the engine at the Qwen2.5-0.5B shape, tokens per second on one
 * BLAS thread: 19.65, measured by `npm run bench -- train-scale` (batch 1 x 512 tokens; the closing note
 * of the scale issue). No LoRA rate was measured; LoRA steps are estimated at this rate (they skip
 * the frozen weights' gradients, so this overestimates their time).
 */
export const QWEN_05B_TRAIN_TOKENS_PER_SECOND = 19.65;

/** Parameters of the Qwen2.5-0.5B shape (bench/support/model-shapes.ts). */
export const QWEN_05B_PARAMETERS = 494_032_768;

/**
 * Measured at the same time for the `30m` preset (29.9M parameters): 201.5 tokens/s. Other sizes are
 * scaled by tokens/s x parameters, which train-scale found roughly constant (ratio 1.6 in favour of 0.5B),
 * using the 0.5B product (the slower one per parameter) so the estimate errs long.
 */
const TOKENS_PER_SECOND_TIMES_PARAMETERS = QWEN_05B_TRAIN_TOKENS_PER_SECOND * QWEN_05B_PARAMETERS;

/** One node of the plan. */
export interface PlannedNode {
  node: ExperimentNode;
  action: "skip" | "resume" | "run";
}

/** The plan: nodes, society cost and training time estimates. */
export interface ExperimentPlan {
  nodes: PlannedNode[];
  /** Per society: its estimate (what is left of it when resumed); undefined when complete or not estimated. */
  societies: { generation: number; action: PlannedNode["action"]; estimate: SimulationCostEstimate | undefined }[];
  training: { generation: number; tokens: number; seconds: number }[];
  /** How the training estimate was made. */
  trainingBasis: string;
}

/**
 * Training tokens of one generation, estimated: every interaction gives one Imitation example and the
 * mix adds the other kinds (5:1:1 gives 7/5 as many), each with `numComp` responses of at most
 * `maxLength` tokens (prompt + agent answer, taken at min(maxLength, 64 + the agent's max tokens)).
 */
export function estimateTrainingTokens(recipe: Recipe, { rounds }: { rounds: number }): number {
  const interactions = recipe.society.size * recipe.society.size * rounds;
  const mix = recipe.data.mix.trim() === "all" ? 3 : mixFactor(recipe.data.mix);
  const hyperparameters = recipe.training.hyperparameters;
  const maxLength = hyperparameters.maxLength ?? 512;
  const responses = recipe.training.objective === "sft" ? 1 : (hyperparameters.numComp ?? 3);
  const perResponse = Math.min(maxLength, 64 + recipe.society.agentSampling.maxTokens);
  return Math.round(interactions * mix * responses * perResponse * (hyperparameters.epochs ?? 2));
}

function mixFactor(text: string): number {
  const parts = text.split(":").map(Number);
  const imitation = parts[0] ?? 1;
  return parts.every((part) => Number.isFinite(part) && part >= 0) && imitation > 0
    ? parts.reduce((sum, part) => sum + part, 0) / imitation
    : 1;
}

/** Plans a run of `nodes` in its experiment directory. */
export async function planExperiment({
  recipe,
  nodes,
  parameters,
  estimateSociety,
}: {
  recipe: Recipe;
  nodes: readonly ExperimentNode[];
  /** Parameters of the trained model (known for presets and checkpoints); undefined: no time estimate. */
  parameters: number | undefined;
  /** The society cost estimator; absent: society cost is not estimated. */
  estimateSociety?: SimulationCostEstimator;
}): Promise<ExperimentPlan> {
  const planned: PlannedNode[] = nodes.map((node) => ({
    node,
    action: readNodeMarker(node) !== undefined ? "skip" : existsSync(node.directory) ? "resume" : "run",
  }));
  const societies: ExperimentPlan["societies"] = [];
  const training: ExperimentPlan["training"] = [];
  const rounds = recipe.society.rounds ?? 50;
  const byName = new Map(nodes.map((node) => [node.name, node]));
  for (const { node, action } of planned.filter((entry) => entry.node.kind === "society")) {
    societies.push({
      generation: node.generation,
      action,
      estimate: estimateSociety && action !== "skip" ? await estimateSociety({ node, nodes: byName }) : undefined,
    });
  }
  for (let generation = 1; generation <= recipe.generations; generation += 1) {
    const tokens = estimateTrainingTokens(recipe, { rounds });
    const threads = recipe.training.threads;
    const seconds =
      parameters === undefined ? Number.NaN : (tokens * parameters) / (TOKENS_PER_SECOND_TIMES_PARAMETERS * threads);
    training.push({ generation, tokens, seconds });
  }
  return {
    nodes: planned,
    societies,
    training,
    trainingBasis: `estimate: ${QWEN_05B_TRAIN_TOKENS_PER_SECOND} tokens/s at ${QWEN_05B_PARAMETERS} parameters on 1 BLAS thread (npm run bench -- train-scale, full fine-tune, Qwen2.5-0.5B shape), scaled by parameters and threads; tokens from the society size, rounds, mix, numComp and maxLength`,
  };
}

const range = ({ minimum, maximum }: { minimum: number; maximum: number }, digits = 0): string =>
  minimum === maximum ? minimum.toFixed(digits) : `${minimum.toFixed(digits)}-${maximum.toFixed(digits)}`;

/** The plan as text lines. */
export function formatExperimentPlan(plan: ExperimentPlan): string {
  const lines = ["nodes:"];
  for (const { node, action } of plan.nodes) lines.push(`  ${action.padEnd(6)} ${node.name}-${node.hash}`);
  lines.push("societies (estimate):");
  for (const { generation, action, estimate } of plan.societies) {
    lines.push(
      estimate === undefined
        ? `  generation ${generation}: ${action === "skip" ? "complete" : "not estimated"}`
        : `  generation ${generation}: chat calls ${range(estimate.chatCalls)}, embedding calls ${range(estimate.embeddingCalls)}, prompt tokens ${range(estimate.promptTokens)}, completion tokens ${range(estimate.completionTokens)}, USD ${range(estimate.usd, 4)}, wall ${range(estimate.wallSeconds)} s`,
    );
  }
  lines.push("training (estimate):");
  for (const { generation, tokens, seconds } of plan.training) {
    lines.push(
      `  generation ${generation}: about ${tokens} tokens, ${Number.isFinite(seconds) ? `${(seconds / 60).toFixed(1)} min` : "time unknown (model size unknown)"}`,
    );
  }
  lines.push(`  (${plan.trainingBasis})`);
  const trainingSeconds = plan.training.reduce((sum, { seconds }) => sum + seconds, 0);
  const societyMinimum = plan.societies.reduce((sum, { estimate }) => sum + (estimate?.wallSeconds.minimum ?? 0), 0);
  const societyMaximum = plan.societies.reduce((sum, { estimate }) => sum + (estimate?.wallSeconds.maximum ?? 0), 0);
  const societiesKnown = plan.societies.every(({ action, estimate }) => action === "skip" || estimate !== undefined);
  lines.push(
    `expected wall time (estimate): training ${Number.isFinite(trainingSeconds) ? `${(trainingSeconds / 60).toFixed(1)} min` : "unknown"}, societies ${societiesKnown ? `${range({ minimum: societyMinimum / 60, maximum: societyMaximum / 60 }, 1)} min` : "not estimated"}; evaluation and export not included`,
  );
  return `${lines.join("\n")}\n`;
}

/**
 * Parameters of the recipe's start model: a preset's layout, a local checkpoint's config.json, or the
 * Qwen2.5-0.5B count for an `hf:` Qwen2.5-0.5B checkpoint; undefined when unknown without a download.
 */
export async function startModelParameters(recipe: Recipe, recipeDirectory: string): Promise<number | undefined> {
  const start = recipe.training.start;
  if ("init" in start) {
    const preset = (llamaPresets as Record<string, Parameters<typeof llamaParameterLayout>[0]>)[start.init];
    const config = preset ?? (await readCheckpointConfig({ path: recipePath(recipeDirectory, start.init) }));
    return llamaParameterLayout(config).totalSize;
  }
  if (/qwen2\.5-0\.5b/i.test(start.checkpoint)) return QWEN_05B_PARAMETERS;
  const configFile = join(recipePath(recipeDirectory, start.checkpoint), "config.json");
  if (start.checkpoint.startsWith("hf:") || !existsSync(configFile)) return undefined;
  return llamaParameterLayout(await readCheckpointConfig({ path: configFile })).totalSize;
}
