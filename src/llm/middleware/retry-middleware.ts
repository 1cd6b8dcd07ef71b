import { setTimeout as delay } from "node:timers/promises";
import { CancelledError, ProviderError } from "../../spec/errors.js";
import type {
  GenerateRequest,
  GenerateResult,
  LanguageModel,
  LanguageModelMiddleware,
} from "../../spec/language-model.js";
import type { RetryCause } from "../../spec/response-cache.js";
import type { ScoreRequest, ScoreResult } from "../../spec/scoring.js";
import { withCalls } from "./wrap-language-model.js";

/** What `onRetry` reports before each wait. */
export interface RetryEvent {
  /** The retried model's `modelId`. */
  modelId: string;
  /** The attempt that failed, from 1. */
  attempt: number;
  /** Milliseconds about to be waited. */
  delayMs: number;
  /** Why the attempt failed, for per-cause counts. */
  cause: RetryCause;
  error: ProviderError;
  /** The retried request's `callIdentity`; absent when it named none. */
  callIdentity?: string;
}

/**
 * The cause of a retryable ProviderError: status 429 -> `rate-limit`; a 2xx body that is not the
 * expected JSON (`PROVIDER_BAD_RESPONSE`) -> `bad-body`; `PROVIDER_TIMEOUT` or status 408 ->
 * `timeout`; other 5xx -> `server-error`; anything else (refused or reset connections) -> `connection`.
 */
export function retryCauseOf(error: ProviderError): RetryCause {
  if (error.status === 429) return "rate-limit";
  if (error.code === "PROVIDER_BAD_RESPONSE") return "bad-body";
  if (error.code === "PROVIDER_TIMEOUT" || error.status === 408) return "timeout";
  if (error.status !== undefined && error.status >= 500) return "server-error";
  return "connection";
}

/** Options of {@link createRetryMiddleware}. */
export interface RetryOptions {
  /** Most attempts per call, the first included. Default 5. */
  maxAttempts?: number;
  /** No retry starts once this many milliseconds would have passed since the call began. Default 300 000. */
  maxElapsedMs?: number;
  /** Backoff ceiling of the first retry in milliseconds; doubles each retry. Default 500. */
  baseDelayMs?: number;
  /** Largest backoff ceiling in milliseconds. Default 30 000. */
  maxDelayMs?: number;
  /** Waits `milliseconds`, rejecting when `signal` aborts. Default: a timer. Tests inject a fake. */
  sleep?: (milliseconds: number, signal: AbortSignal | undefined) => Promise<void>;
  /** Uniform in [0, 1). Default `Math.random`. */
  random?: () => number;
  /** Milliseconds clock. Default `performance.now`. */
  now?: () => number;
  /** Told before each wait (for logs and progress). */
  onRetry?: (event: RetryEvent) => void;
}

const defaultSleep = (milliseconds: number, signal: AbortSignal | undefined): Promise<void> =>
  delay(milliseconds, undefined, signal === undefined ? undefined : { signal });

/**
 * Retries retryable ProviderErrors of `generate` and `score` (429, 5xx, 2xx with a bad body, timeouts, connection failures) with exponential backoff
 * and full jitter: the wait before retry n is uniform in [0, min(maxDelayMs, baseDelayMs * 2^(n-1))),
 * and never shorter than the server's Retry-After. Other errors pass through at once; the last error
 * is rethrown when attempts or time run out. An aborted signal ends the wait with a CancelledError.
 */
export function createRetryMiddleware({
  maxAttempts = 5,
  maxElapsedMs = 300_000,
  baseDelayMs = 500,
  maxDelayMs = 30_000,
  sleep = defaultSleep,
  random = Math.random,
  now = () => performance.now(),
  onRetry,
}: RetryOptions = {}): LanguageModelMiddleware {
  return (model: LanguageModel): LanguageModel => {
    async function retrying<T>(
      call: () => Promise<T>,
      { signal, callIdentity }: { signal?: AbortSignal | undefined; callIdentity?: string | undefined },
    ): Promise<T> {
      const startedAt = now();
      for (let attempt = 1; ; attempt += 1) {
        try {
          return await call();
        } catch (error) {
          if (!(error instanceof ProviderError) || !error.retryable || attempt >= maxAttempts) throw error;
          if (signal?.aborted) throw new CancelledError("cancelled before retrying");
          const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
          const delayMs = Math.max(error.retryAfterMs ?? 0, random() * ceiling);
          if (now() - startedAt + delayMs > maxElapsedMs) throw error;
          onRetry?.({
            modelId: model.modelId,
            attempt,
            delayMs,
            cause: retryCauseOf(error),
            error,
            ...(callIdentity === undefined ? {} : { callIdentity }),
          });
          try {
            await sleep(delayMs, signal);
          } catch (sleepError) {
            if (signal?.aborted) throw new CancelledError("cancelled while waiting to retry");
            throw sleepError;
          }
        }
      }
    }
    const score = model.score;
    return withCalls(model, {
      generate: (request: GenerateRequest): Promise<GenerateResult> => retrying(() => model.generate(request), request),
      ...(score === undefined
        ? {}
        : {
            score: (request: ScoreRequest): Promise<ScoreResult> => retrying(() => score.call(model, request), request),
          }),
    });
  };
}
