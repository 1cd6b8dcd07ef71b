import type { GenerateRequest, GenerateResult, LanguageModel, ModelCapabilities } from "../../spec/language-model.js";
import type { ScoreRequest, ScoreResult } from "../../spec/scoring.js";

/** Options of {@link createLoadBalancer}. */
export interface LoadBalancerOptions {
  /** Interchangeable models serving the same weights (one per endpoint), each usually behind its own limiter. */
  replicas: readonly LanguageModel[];
  /** The balanced model's `modelId` (part of cache keys). Default: the first replica's. */
  modelId?: string;
}

/** A LanguageModel that spreads calls across replicas, with counters for monitoring and tests. */
export interface LoadBalancer extends LanguageModel {
  /** Calls in flight (including queued behind a limiter) per replica, in `replicas` order. */
  inFlight(): number[];
  /** Calls sent per replica so far, in `replicas` order. */
  served(): number[];
}

/**
 * Sends each call to the replica with the fewest calls in flight, breaking ties round-robin, so a slow
 * replica receives fewer calls (`generate` and `score` alike). Capabilities are those all replicas share:
 * `score` exists only when every replica scores. `close` closes them all.
 */
export function createLoadBalancer({ replicas, modelId }: LoadBalancerOptions): LoadBalancer {
  const first = replicas[0];
  if (first === undefined) throw new RangeError("createLoadBalancer needs at least one replica");
  const count = replicas.length;
  const inFlight = new Array<number>(count).fill(0);
  const served = new Array<number>(count).fill(0);
  let cursor = 0;

  function pick(): number {
    let best = cursor;
    let bestLoad = inFlight[best] ?? 0;
    for (let step = 1; step < count && bestLoad > 0; step += 1) {
      const index = (cursor + step) % count;
      const load = inFlight[index] ?? 0;
      if (load < bestLoad) {
        best = index;
        bestLoad = load;
      }
    }
    cursor = (best + 1) % count;
    return best;
  }

  async function dispatch<T>(call: (replica: LanguageModel) => Promise<T>): Promise<T> {
    const index = count === 1 ? 0 : pick();
    const replica = replicas[index] as LanguageModel;
    inFlight[index] = (inFlight[index] ?? 0) + 1;
    served[index] = (served[index] ?? 0) + 1;
    try {
      return await call(replica);
    } finally {
      inFlight[index] = (inFlight[index] ?? 1) - 1;
    }
  }

  const generate = (request: GenerateRequest): Promise<GenerateResult> =>
    dispatch((replica) => replica.generate(request));
  // Scoring only when every replica scores: a call must not fail on whichever replica it lands.
  const scores = replicas.every((replica) => replica.score !== undefined && replica.capabilities.score === true);
  const score = (request: ScoreRequest): Promise<ScoreResult> =>
    dispatch((replica) => (replica.score as (request: ScoreRequest) => Promise<ScoreResult>).call(replica, request));

  const capabilities: ModelCapabilities = {
    chat: replicas.every((replica) => replica.capabilities.chat),
    completion: replicas.every((replica) => replica.capabilities.completion),
    jsonSchema: replicas.every((replica) => replica.capabilities.jsonSchema),
    grammar: replicas.every((replica) => replica.capabilities.grammar),
    score: scores,
  };
  // Replicas serve one model, so one tokenizer counts for all.
  const countPromptTokens = first.countPromptTokens?.bind(first);
  const price = first.pricePerMillionTokens;
  const samePrice =
    price !== undefined &&
    replicas.every(
      (replica) =>
        replica.pricePerMillionTokens?.prompt === price.prompt &&
        replica.pricePerMillionTokens?.completion === price.completion,
    );

  return {
    provider: first.provider,
    modelId: modelId ?? first.modelId,
    capabilities,
    ...(samePrice ? { pricePerMillionTokens: price } : {}),
    ...(countPromptTokens === undefined ? {} : { countPromptTokens }),
    generate,
    ...(scores ? { score } : {}),
    inFlight: () => [...inFlight],
    served: () => [...served],
    async close() {
      await Promise.all(replicas.map((replica) => replica.close?.()));
    },
  };
}
