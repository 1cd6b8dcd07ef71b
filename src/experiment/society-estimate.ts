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
import { measureSimulationProfile } from "../sandbox/simulation-profile.js";
import type { ExperimentNode } from "./experiment-nodes.js";
import type { SimulationCostEstimate, SimulationCostEstimator } from "./experiment-plan.js";
import { createModelFactory, type ModelFactoryOptions } from "./model-factory.js";
import { NODE_COMPLETE_FILE } from "./node-marker.js";
import type { Recipe } from "./recipe.js";
import { societyConfiguration } from "./society-configuration.js";

const runDatabase = (node: ExperimentNode): string => join(node.directory, "run", "run.sqlite");

/** The default society estimator of `experiment plan`. */
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
  return async ({ node, nodes }) => {
    const factory = createModelFactory(models);
    let distanceThreshold: number;
    try {
      distanceThreshold = (await factory.embeddingModel(recipe.society.embedder)).defaultDistanceThreshold;
    } finally {
      await factory.close();
    }
    const { config, questions, inputs, prompts } = await societyConfiguration({
      recipe,
      recipeDirectory,
      node,
      nodes,
      distanceThreshold,
    });
    const history: Database.Database[] = [];
    try {
      // Finished societies of this experiment calibrate the profile; this one, if begun, is resumed.
      for (const other of nodes.values()) {
        if (other.kind !== "society" || other === node) continue;
        if (existsSync(join(other.directory, NODE_COMPLETE_FILE)) && existsSync(runDatabase(other))) {
          history.push(new Database(runDatabase(other), { readonly: true, fileMustExist: true }));
        }
      }
      let resumeFrom = existsSync(runDatabase(node))
        ? new Database(runDatabase(node), { readonly: true, fileMustExist: true })
        : undefined;
      if (resumeFrom !== undefined) history.push(resumeFrom);
      const priorPairs = [...inputs.prior.answers.good, ...inputs.prior.answers.bad];
      // A store an older release wrote (before a migration this one reads) cannot calibrate: left out,
      // and a begun society in such a store is estimated whole.
      const readable = history.filter((database) => {
        try {
          measureSimulationProfile({ databases: [database], prompts, priorPairs });
          return true;
        } catch {
          return false;
        }
      });
      if (resumeFrom !== undefined && !readable.includes(resumeFrom)) resumeFrom = undefined;
      const profile = measureSimulationProfile({ databases: readable, prompts, priorPairs });
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
      for (const database of history) database.close();
    }
  };
}
