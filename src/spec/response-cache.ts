import type { GenerateResult } from "./language-model.js";
import type { ScoreResult } from "./scoring.js";

/**
 * Storage for the LM response cache middleware. The store layer implements it on SQLite; the CLI
 * passes the implementation in, so `src/llm` never imports `src/store`.
 */
export interface ResponseCacheStore {
  /** The stored result for a key, or undefined. */
  get(key: string): GenerateResult | undefined;
  /** Stores a result; the first result stored for a key wins. */
  put(entry: { key: string; modelId: string; callIdentity: string | undefined; result: GenerateResult }): void;
  /** The stored score result for a key (a score key, never a generate key), or undefined. */
  getScore(key: string): ScoreResult | undefined;
  /** Stores a score result; the first result stored for a key wins. */
  putScore(entry: { key: string; modelId: string; callIdentity: string | undefined; result: ScoreResult }): void;
}

/** Usage of one call, for the usage ledger (cost accounting, resume statistics). */
export interface UsageEntry {
  modelId: string;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
  cached: boolean;
  latencyMs: number;
  /** The request's `callIdentity` (who called and why); absent when the caller named none. */
  callIdentity?: string;
  /** Retries this call needed before its answer (0: first attempt); absent when not known. */
  retries?: number;
}

/**
 * Why a call was retried: HTTP 429 (`rate-limit`), HTTP 5xx (`server-error`), a 2xx answer whose body
 * is truncated or not the expected JSON (`bad-body`), no answer in time or HTTP 408 (`timeout`), or a
 * refused or broken connection (`connection`).
 */
export type RetryCause = "rate-limit" | "server-error" | "bad-body" | "timeout" | "connection";

/** One retry, for the retry ledger (run statistics). */
export interface RetryEntry {
  modelId: string;
  cause: RetryCause;
  /** The attempt that failed, from 1. */
  attempt: number;
  /** Milliseconds waited before the next attempt. */
  delayMs: number;
  /** The retried request's `callIdentity`; absent when it named none. */
  callIdentity?: string;
}
