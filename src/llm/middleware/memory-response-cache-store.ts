import type { GenerateResult } from "../../spec/language-model.js";
import type { ResponseCacheStore } from "../../spec/response-cache.js";
import type { ScoreResult } from "../../spec/scoring.js";

/** A ResponseCacheStore in a Map, for tests and benchmarks; the CLI uses the SQLite store. */
export interface MemoryResponseCacheStore extends ResponseCacheStore {
  /** Number of stored results (generate and score together). */
  readonly size: number;
  clear(): void;
}

/** Creates an empty in-memory response cache store (first result stored for a key wins). */
export function createMemoryResponseCacheStore(): MemoryResponseCacheStore {
  const entries = new Map<string, GenerateResult>();
  const scores = new Map<string, ScoreResult>();
  return {
    get size() {
      return entries.size + scores.size;
    },
    get(key: string) {
      return entries.get(key);
    },
    put({ key, result }) {
      if (!entries.has(key)) entries.set(key, result);
    },
    getScore(key: string) {
      return scores.get(key);
    },
    putScore({ key, result }) {
      if (!scores.has(key)) scores.set(key, result);
    },
    clear() {
      entries.clear();
      scores.clear();
    },
  };
}
