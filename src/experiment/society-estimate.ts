/**
 * The plan's society cost: src/sandbox's `estimateSimulation` on each generation's society as the
 * run would configure it, calibrated by the experiment's own finished societies (answer lengths,
 * re-ask and retry rates, latency; the stated defaults otherwise), and for an interrupted society only
 * the work left. No model is called and nothing is written.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { priceOfSpec } from "../llm/price-of-spec.js";
import { estimateSimulation } from "../sandbox/simulation-estimate.js";
import { measureSimulationProfile, type SimulationProfile } from "../sandbox/simulation-profile.js";
import type { ExperimentNode } from "./experiment-nodes.js";
import type { SimulationCostEstimate, SimulationCostEstimator } from "./experiment-plan.js";
import { createModelFactory, type ModelFactoryOptions } from "./model-factory.js";
import { NODE_COMPLETE_FILE } from "./node-marker.js";
import type { Recipe } from "./recipe.js";
import { societyConfiguration } from "./society-configuration.js";

const runDatabase = (node: ExperimentNode): string => join(node.directory, "run", "run.sqlite");

/**
 * The default society estimator of `experiment plan`. Within one estimator the embedder's retrieval
 * distance is read once, and each run database is checked and each set of them measured once.
 */
export function createSocietyCostEstimator({
  recipe,
  recipeDirectory,
  models,
}: {
  recipe: Recipe;
  recipeDirectory: string;
  /** How the embedder is built (its retrieval distance is part of the configuration); prices of the specs. */
  models: Omit<ModelFactoryOptions, "store">;
}): SimulationCostEstimator {
  let distanceThreshold: Promise<number> | undefined;
  const readDistanceThreshold = async (): Promise<number> => {
    const factory = createModelFactory(models);
    try {
      return (await factory.embeddingModel(recipe.society.embedder)).defaultDistanceThreshold;
    } finally {
      await factory.close();
    }
  };
  // Whether a run database can calibrate, by path; the profile of each ordered list of readable paths.
  const readableByPath = new Map<string, boolean>();
  const profileByPaths = new Map<string, SimulationProfile>();
  const open = (path: string) => new Database(path, { readonly: true, fileMustExist: true });
  return async ({ node, nodes }) => {
    distanceThreshold ??= readDistanceThreshold();
    const { config, questions, inputs, prompts } = await societyConfiguration({
      recipe,
      recipeDirectory,
      node,
      nodes,
      distanceThreshold: await distanceThreshold,
    });
    const priorPairs = [...inputs.prior.answers.good, ...inputs.prior.answers.bad];
    // A store an older release wrote (before a migration this one reads) cannot calibrate: left out,
    // and a begun society in such a store is estimated whole.
    const readable = (path: string): boolean => {
      let known = readableByPath.get(path);
      if (known === undefined) {
        const database = open(path);
        try {
          measureSimulationProfile({ databases: [database], prompts, priorPairs });
          known = true;
        } catch {
          known = false;
        } finally {
          database.close();
        }
        readableByPath.set(path, known);
      }
      return known;
    };
    // Finished societies of this experiment calibrate the profile; this one, if begun, is resumed.
    const historyPaths: string[] = [];
    for (const other of nodes.values()) {
      if (other.kind !== "society" || other === node) continue;
      if (existsSync(join(other.directory, NODE_COMPLETE_FILE)) && existsSync(runDatabase(other))) {
        historyPaths.push(runDatabase(other));
      }
    }
    const resumePath = existsSync(runDatabase(node)) ? runDatabase(node) : undefined;
    if (resumePath !== undefined) historyPaths.push(resumePath);
    const readablePaths = historyPaths.filter(readable);
    const profileKey = JSON.stringify(readablePaths);
    let profile = profileByPaths.get(profileKey);
    if (profile === undefined) {
      const databases = readablePaths.map(open);
      try {
        profile = measureSimulationProfile({ databases, prompts, priorPairs });
      } finally {
        for (const database of databases) database.close();
      }
      profileByPaths.set(profileKey, profile);
    }
    const resumeFrom = resumePath !== undefined && readablePaths.includes(resumePath) ? open(resumePath) : undefined;
    try {
      const estimate = estimateSimulation({
        config,
        questions,
        prior: inputs.prior,
        prompts,
        priceOf: (spec) => priceOfSpec({ spec, ...(models.prices === undefined ? {} : { prices: models.prices }) }),
        profile,
        concurrency: recipe.society.concurrency,
        ...(resumeFrom === undefined ? {} : { resumeFrom }),
      });
      const span = (read: (totals: typeof estimate.low) => number) => ({
        minimum: read(estimate.low),
        maximum: read(estimate.high),
      });
      const result: SimulationCostEstimate = {
        chatCalls: span((totals) => totals.chat.calls),
        embeddingCalls: span((totals) => totals.embedding.calls),
        promptTokens: span((totals) => totals.chat.promptTokens + totals.embedding.tokens),
        completionTokens: span((totals) => totals.chat.completionTokens),
        usd: span((totals) => totals.costUsd),
        wallSeconds: span((totals) => totals.wallSeconds),
      };
      return result;
    } finally {
      resumeFrom?.close();
    }
  };
}
