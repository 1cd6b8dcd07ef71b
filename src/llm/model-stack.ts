/**
 * The standard composition of middleware around one or several replicas of a model:
 * response cache -> usage and budget -> retry -> load balancer -> per-replica concurrency limiter ->
 * provider. A cache hit costs nothing and touches no replica; a retry goes back through the balancer,
 * so it may land on another replica; each endpoint backs off on its own 429s. The usage meter
 * reserves each priced call's most cost before it queues for a replica (so the budget holds at any
 * concurrency), gives every call a max-tokens bound (its `defaultMaxTokens`, 1024 unless set) and
 * counts the retry layer's retries by cause. `score` (likelihood scoring) takes the same path as
 * `generate` when every replica scores, and is absent (capability false) otherwise.
 */
import type { LanguageModel } from "../spec/language-model.js";
import type { ResponseCacheStore } from "../spec/response-cache.js";
import { type ConcurrencyLimiter, createConcurrencyLimiter } from "./middleware/concurrency-limiter.js";
import { createLoadBalancer, type LoadBalancer } from "./middleware/load-balancer.js";
import { createResponseCacheMiddleware } from "./middleware/response-cache-middleware.js";
import { createRetryMiddleware, type RetryOptions } from "./middleware/retry-middleware.js";
import { createUsageMeter, type UsageMeter } from "./middleware/usage-meter.js";
import { wrapLanguageModel } from "./middleware/wrap-language-model.js";

/** Options of {@link createModelStack}. */
export interface ModelStackOptions {
  /** One provider, or several interchangeable ones (replicas of the same model on different endpoints). */
  replicas: LanguageModel | readonly LanguageModel[];
  /** The stack's `modelId`, part of every cache key. Default: the first replica's. */
  modelId?: string;
  /** Response cache storage (SQLite in the CLI). Absent: no caching. */
  cacheStore?: ResponseCacheStore;
  /** Shared across stacks to count and cap spending over several models. Default: a fresh meter, no cap. */
  usageMeter?: UsageMeter;
  /** Retry policy; see RetryOptions for defaults. Its `onRetry` is told after the meter counts the retry. */
  retry?: RetryOptions;
  /** Starting and maximum calls in flight per replica. Default 16. */
  maxConcurrency?: number;
}

/** A composed model plus handles on its parts, for reporting and tests. */
export interface ModelStack {
  /** The model callers use. */
  readonly model: LanguageModel;
  readonly usageMeter: UsageMeter;
  /** One limiter per replica, in `replicas` order. */
  readonly limiters: readonly ConcurrencyLimiter[];
  readonly balancer: LoadBalancer;
}

/** Composes the standard middleware (see the module comment) around the given replicas. */
export function createModelStack({
  replicas,
  modelId,
  cacheStore,
  usageMeter = createUsageMeter(),
  retry = {},
  maxConcurrency = 16,
}: ModelStackOptions): ModelStack {
  const replicaList: readonly LanguageModel[] = Array.isArray(replicas) ? replicas : [replicas as LanguageModel];
  const limiters = replicaList.map(() => createConcurrencyLimiter({ maxConcurrency }));
  const limited = replicaList.map((replica, index) => (limiters[index] as ConcurrencyLimiter).middleware(replica));
  const balancer = createLoadBalancer({ replicas: limited, ...(modelId === undefined ? {} : { modelId }) });
  const layers = [
    ...(cacheStore === undefined
      ? []
      : [createResponseCacheMiddleware({ store: cacheStore, onCacheHit: (hit) => usageMeter.recordCacheHit(hit) })]),
    usageMeter.middleware,
    createRetryMiddleware({
      ...retry,
      onRetry: (event) => {
        usageMeter.recordRetry({
          modelId: event.modelId,
          cause: event.cause,
          attempt: event.attempt,
          delayMs: event.delayMs,
          ...(event.callIdentity === undefined ? {} : { callIdentity: event.callIdentity }),
        });
        retry.onRetry?.(event);
      },
    }),
  ];
  const model = wrapLanguageModel({ model: balancer, middleware: layers });
  return { model, usageMeter, limiters, balancer };
}
