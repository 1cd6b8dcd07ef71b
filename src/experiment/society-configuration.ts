/**
 * The simulation configuration of a generation's society, as the recipe describes it: the question
 * slice of that generation (a seeded shuffle of the pool cut into disjoint slices), the prior, and the
 * agent models, where the entries marked `trained` run the previous generation's model as it is served
 * (GGUF in process, `local:`, or a server). The society step runs it; the plan estimates it.
 */
import { join } from "node:path";
import { loadQuestionPool, orderQuestions } from "../data/question-pool.js";
import { loadPromptTemplates, type PromptTemplates } from "../llm/prompts/prompt-templates.js";
import { loadPrior, type Prior } from "../sandbox/prior-loader.js";
import { resolveSimulationConfig, type SimulationConfig } from "../sandbox/simulation-config.js";
import { STARTER_PRIOR_SIZE, STARTER_QUESTIONS, STARTER_SOURCE, starterPrior } from "../sandbox/starter-set.js";
import { ConfigError } from "../spec/errors.js";
import type { ExperimentNode } from "./experiment-nodes.js";
import type { Recipe } from "./recipe.js";
import { recipePath } from "./recipe.js";

/** The society's question pool and prior, as the recipe names them. */
export async function societyInputs(recipe: Recipe, recipeDirectory: string) {
  const questions = recipePath(recipeDirectory, recipe.society.questions);
  const priorPath = recipePath(recipeDirectory, recipe.society.prior);
  const pool = questions === "starter" ? [...STARTER_QUESTIONS] : await loadQuestionPool({ path: questions });
  const prior: Prior = priorPath === "starter" ? starterPrior() : await loadPrior({ path: priorPath });
  const perGeneration = recipe.society.questionsPerGeneration ?? Math.floor(pool.length / recipe.generations);
  if (perGeneration < 1 || perGeneration * recipe.generations > pool.length) {
    throw new ConfigError(
      `recipe field "society.questionsPerGeneration": ${recipe.generations} generations need ${Math.max(perGeneration, 1) * recipe.generations} distinct questions, the pool has ${pool.length}`,
      { field: "society.questionsPerGeneration" },
    );
  }
  const ordered = orderQuestions(pool, { shuffled: true, seed: recipe.society.seed });
  return {
    source: questions === "starter" ? STARTER_SOURCE : questions,
    pool,
    prior,
    priorSize: recipe.society.priorSize ?? (priorPath === "starter" ? STARTER_PRIOR_SIZE : 50),
    /** Generation g's fresh slice: disjoint from every other generation's. */
    slice: (generation: number) => ordered.slice((generation - 1) * perGeneration, generation * perGeneration),
  };
}

/** The agent model spec of a generation's trained entries, from the node that serves it (none in generation 1). */
export function trainedAgentSpec(recipe: Recipe, served: ExperimentNode | undefined): string | undefined {
  if (served === undefined) return undefined;
  const serving = recipe.serving;
  if (serving.kind === "server") return `openai:${serving.model}@${serving.url}`;
  return served.kind === "export"
    ? `gguf:${join(served.directory, "model.gguf")}`
    : `local:${join(served.directory, "run", "model")}`;
}

/** The society node's configuration, questions in hand-out order, inputs, prompts and agent models. */
export async function societyConfiguration({
  recipe,
  recipeDirectory,
  node,
  nodes,
  distanceThreshold,
}: {
  recipe: Recipe;
  recipeDirectory: string;
  /** A society node. */
  node: ExperimentNode;
  nodes: ReadonlyMap<string, ExperimentNode>;
  /** The embedder's memory retrieval distance. */
  distanceThreshold: number;
}): Promise<{
  config: SimulationConfig;
  questions: string[];
  inputs: Awaited<ReturnType<typeof societyInputs>>;
  prompts: PromptTemplates;
  agentModels: { spec: string; weight: number }[];
}> {
  const { society } = recipe;
  const inputs = await societyInputs(recipe, recipeDirectory);
  const questions = inputs.slice(node.generation);
  const served = node.upstream.map((name) => nodes.get(name)).find((upstream) => upstream);
  const trainedSpec = trainedAgentSpec(recipe, served);
  const agentModels = society.agents.map((agent) => ({
    spec: agent.trained && trainedSpec !== undefined ? trainedSpec : agent.model,
    weight: agent.weight,
  }));
  const prompts = loadPromptTemplates({});
  const config = resolveSimulationConfig({
    size: society.size,
    setting: society.setting,
    seed: society.seed,
    rounds: society.rounds ?? 50,
    untilPlateau:
      society.plateau === undefined
        ? null
        : {
            tolerance: society.plateau.tolerance,
            patience: society.plateau.patience,
            minimumRounds: society.plateau.minRounds,
          },
    targets: Math.min(society.targets, society.size * society.size - 1),
    maxRatingAttempts: society.ratingAttempts,
    agentSampling: society.agentSampling,
    observerSampling: society.observerSampling,
    agentModels,
    observerModel: society.observer,
    embedder: { modelId: society.embedder, distanceThreshold },
    priorSize: inputs.priorSize,
    questions: { source: `${inputs.source}#generation-${node.generation}`, pool: questions, shuffled: false },
    prior: inputs.prior,
    prompts,
  });
  return { config, questions, inputs, prompts, agentModels };
}
