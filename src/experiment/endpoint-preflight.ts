/**
 * Before an experiment's first step: every OpenAI-compatible endpoint a step still to run will call
 * (society agents and observer, a remote embedder, the evaluation's judge) is asked whether it answers
 * (`GET /models`). One that does not, or that refuses the key, stops the run at once with the recipe
 * line that names it, instead of failing when its step starts, after hours of earlier steps.
 */
import { setTimeout as delay } from "node:timers/promises";
import { type EndpointProbeResult, probeEndpoint } from "../llm/endpoint-probe.js";
import { parseEmbeddingSpec, parseModelSpec } from "../llm/model-spec.js";
import type { ExperimentNode } from "./experiment-nodes.js";
import { type ModelSecrets, openAiEndpointsOf } from "./model-factory.js";
import type { LoadedRecipe } from "./recipe.js";

/** An endpoint a pending step will call, with the recipe field that names it and the first such step. */
export interface RecipeEndpoint {
  field: (string | number)[];
  baseURL: string;
  /** Sent as a bearer token: the OpenAI key for the OpenAI API, the server key for self-hosted servers. */
  apiKey?: string;
  step: string;
}

/** The endpoints the `pending` nodes call (each endpoint once, at its first field in plan order). */
export function endpointsOfPendingNodes({
  recipe,
  pending,
  secrets = {},
}: {
  recipe: LoadedRecipe["recipe"];
  pending: readonly ExperimentNode[];
  secrets?: ModelSecrets;
}): RecipeEndpoint[] {
  const found = new Map<string, RecipeEndpoint>();
  const add = (field: (string | number)[], urls: readonly string[] | undefined, step: string) => {
    const { baseURLs, apiKey } = openAiEndpointsOf({ baseURLs: urls, secrets });
    for (const baseURL of baseURLs) {
      if (!found.has(baseURL)) found.set(baseURL, { field, baseURL, ...(apiKey ? { apiKey } : {}), step });
    }
  };
  const model = (field: (string | number)[], spec: string, step: string) => {
    const parsed = parseModelSpec(spec);
    if (parsed.provider === "openai") add(field, parsed.baseURLs, step);
  };
  for (const node of pending) {
    if (node.kind === "society") {
      for (const [index, agent] of recipe.society.agents.entries()) {
        // From generation 2 on, trained agents run the model trained here, not their endpoint.
        if (node.generation === 1 || !agent.trained)
          model(["society", "agents", index, "model"], agent.model, node.name);
      }
      model(["society", "observer"], recipe.society.observer, node.name);
      const embedder = parseEmbeddingSpec(recipe.society.embedder);
      if (embedder.provider === "openai") add(["society", "embedder"], embedder.baseURLs, node.name);
    }
    if (node.kind === "evaluation" && recipe.evaluation.judge !== undefined) {
      model(["evaluation", "judge", "model"], recipe.evaluation.judge.model, node.name);
    }
  }
  return [...found.values()];
}

/**
 * Probes every endpoint of {@link endpointsOfPendingNodes} at once; throws one ConfigError naming the
 * recipe file, line and field of the first that does not answer (or answers 401/403), its reason and
 * the step that needs it. An endpoint that does not answer is asked again (after 0.25, 0.5, 1, 2 s ...)
 * until `waitMs` (default 5,000) have passed, so a server started just before the run is found;
 * `timeoutMs` per probe, default 5,000.
 */
export async function checkRecipeEndpoints({
  recipe,
  pending,
  secrets,
  timeoutMs = 5000,
  waitMs = 5000,
}: {
  recipe: LoadedRecipe;
  pending: readonly ExperimentNode[];
  secrets?: ModelSecrets;
  timeoutMs?: number;
  waitMs?: number;
}): Promise<void> {
  const endpoints = endpointsOfPendingNodes({
    recipe: recipe.recipe,
    pending,
    ...(secrets === undefined ? {} : { secrets }),
  });
  const probes = await Promise.all(
    endpoints.map(async (endpoint) => ({
      endpoint,
      probe: await probeUntilAnswered({ endpoint, timeoutMs, deadline: performance.now() + waitMs }),
    })),
  );
  for (const { endpoint, probe } of probes) {
    const problem = !probe.answered
      ? `does not answer (${probe.reason}); ${endpoint.step} needs it: start the server or fix the recipe`
      : probe.status === 401 || probe.status === 403
        ? `refuses the API key (HTTP ${probe.status} to GET /models); ${endpoint.step} needs it: check the key`
        : undefined;
    if (problem === undefined) continue;
    throw recipe.errorAt(endpoint.field, `endpoint ${endpoint.baseURL} ${problem}, then rerun`);
  }
}

async function probeUntilAnswered({
  endpoint,
  timeoutMs,
  deadline,
}: {
  endpoint: RecipeEndpoint;
  timeoutMs: number;
  deadline: number;
}): Promise<EndpointProbeResult> {
  for (let pauseMs = 250; ; pauseMs *= 2) {
    const probe = await probeEndpoint({
      baseURL: endpoint.baseURL,
      ...(endpoint.apiKey === undefined ? {} : { apiKey: endpoint.apiKey }),
      timeoutMs,
    });
    const left = deadline - performance.now();
    if (probe.answered || left <= 0) return probe;
    await delay(Math.min(pauseMs, left));
  }
}
