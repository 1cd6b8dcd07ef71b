import { CancelledError, ProviderError } from "../../spec/errors.js";
import type {
  GenerateRequest,
  GenerateResult,
  LanguageModel,
  LanguageModelMiddleware,
} from "../../spec/language-model.js";
import type { ScoreRequest, ScoreResult } from "../../spec/scoring.js";
import { withCalls } from "./wrap-language-model.js";

/** Options of {@link createConcurrencyLimiter}. */
export interface ConcurrencyLimiterOptions {
  /** Most calls in flight, and the limit it starts at and recovers to. Default 16. */
  maxConcurrency?: number;
  /** Told whenever the limit changes. */
  onLimitChange?: (limit: number) => void;
}

/** An adaptive concurrency limit for one endpoint. */
export interface ConcurrencyLimiter {
  /** Limits the wrapped model's calls (`generate` and `score` share the slots). Wrap one endpoint per limiter. */
  readonly middleware: LanguageModelMiddleware;
  /** The current limit: a whole number in [1, maxConcurrency]. */
  limit(): number;
  /** Calls running now. */
  inFlight(): number;
  /** Calls waiting for a slot. */
  queued(): number;
  /** Runs any task under the limit (embedding batches, health checks). */
  run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T>;
}

interface Waiter {
  resolve: (generation: number) => void;
  reject: (error: unknown) => void;
  cancelled: boolean;
}

/**
 * Additive-increase, multiplicative-decrease limiter: the limit halves (rounded down, not below 1) when a
 * call fails with HTTP 429, and grows by 1 after each `limit` successes in a row back to `maxConcurrency`. Only a 429 from a call started under the current limit halves it, so one burst of
 * rejections counts once. Waiting callers start in FIFO order.
 */
export function createConcurrencyLimiter({
  maxConcurrency = 16,
  onLimitChange,
}: ConcurrencyLimiterOptions = {}): ConcurrencyLimiter {
  if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1) {
    throw new RangeError(`maxConcurrency must be a whole number >= 1, got ${maxConcurrency}`);
  }
  let limit = maxConcurrency;
  let successes = 0;
  let active = 0;
  let generation = 0;
  const waiters: Waiter[] = [];
  let head = 0;
  let waiting = 0;

  function acquire(signal: AbortSignal | undefined): Promise<number> | number {
    if (signal?.aborted) throw new CancelledError("cancelled while waiting for a concurrency slot");
    if (waiting === 0 && active < limit) {
      active += 1;
      return generation;
    }
    return new Promise<number>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, cancelled: false };
      if (signal !== undefined) {
        const onAbort = (): void => {
          if (waiter.cancelled) return;
          waiter.cancelled = true;
          waiting -= 1;
          reject(new CancelledError("cancelled while waiting for a concurrency slot"));
        };
        signal.addEventListener("abort", onAbort, { once: true });
        waiter.resolve = (granted) => {
          signal.removeEventListener("abort", onAbort);
          resolve(granted);
        };
      }
      waiters.push(waiter);
      waiting += 1;
    });
  }

  function release(startedGeneration: number, error: unknown): void {
    active -= 1;
    const before = limit;
    if (error === undefined) {
      if (limit < maxConcurrency) {
        successes += 1;
        if (successes >= limit) {
          limit += 1;
          successes = 0;
        }
      }
    } else if (error instanceof ProviderError && error.status === 429 && startedGeneration === generation) {
      limit = Math.max(1, Math.floor(limit / 2));
      successes = 0;
      generation += 1;
    }
    if (limit !== before) onLimitChange?.(limit);
    drain();
  }

  function drain(): void {
    while (waiting > 0 && active < limit) {
      const waiter = waiters[head];
      head += 1;
      if (waiter === undefined || waiter.cancelled) continue;
      waiting -= 1;
      active += 1;
      waiter.resolve(generation);
    }
    if (head === waiters.length) {
      waiters.length = 0;
      head = 0;
    } else if (head > 1024 && head * 2 > waiters.length) {
      waiters.splice(0, head);
      head = 0;
    }
  }

  async function run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const granted = acquire(signal);
    const startedGeneration = typeof granted === "number" ? granted : await granted;
    let result: T;
    try {
      result = await task();
    } catch (error) {
      release(startedGeneration, error ?? new Error("task failed"));
      throw error;
    }
    release(startedGeneration, undefined);
    return result;
  }

  const middleware: LanguageModelMiddleware = (model: LanguageModel): LanguageModel =>
    withCalls(model, {
      generate: (request: GenerateRequest): Promise<GenerateResult> =>
        run(() => model.generate(request), request.signal),
      ...(model.score === undefined
        ? {}
        : {
            score: (request: ScoreRequest): Promise<ScoreResult> =>
              run(
                () => (model.score as (request: ScoreRequest) => Promise<ScoreResult>).call(model, request),
                request.signal,
              ),
          }),
    });

  return {
    middleware,
    limit: () => limit,
    inFlight: () => active,
    queued: () => waiting,
    run,
  };
}
