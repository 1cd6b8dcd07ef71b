import type { GenerateRequest, GenerateResult, LanguageModel, ModelCapabilities } from "../../spec/language-model.js";

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
 * replica receives fewer calls. Capabilities are those all replicas share; `close` closes them all.
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

  async function generate(request: GenerateRequest): Promise<GenerateResult> {
    const index = count === 1 ? 0 : pick();
    const replica = replicas[index] as LanguageModel;
    inFlight[index] = (inFlight[index] ?? 0) + 1;
    served[index] = (served[index] ?? 0) + 1;
    try {
      return await replica.generate(request);
    } finally {
      inFlight[index] = (inFlight[index] ?? 1) - 1;
    }
  }

  const capabilities: ModelCapabilities = {
    chat: replicas.every((replica) => replica.capabilities.chat),
    completion: replicas.every((replica) => replica.capabilities.completion),
    jsonSchema: replicas.every((replica) => replica.capabilities.jsonSchema),
    grammar: replicas.every((replica) => replica.capabilities.grammar),
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
    inFlight: () => [...inFlight],
    served: () => [...served],
    async close() {
      await Promise.all(replicas.map((replica) => replica.close?.()));
    },
  };
}
