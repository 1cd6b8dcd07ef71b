import type { GenerateResult } from "../../spec/language-model.js";
import type { ResponseCacheStore } from "../../spec/response-cache.js";

/** A ResponseCacheStore in a Map, for tests and benchmarks; the CLI uses the SQLite store. */
export interface MemoryResponseCacheStore extends ResponseCacheStore {
  /** Number of stored results. */
  readonly size: number;
  clear(): void;
}

/** Creates an empty in-memory response cache store (first result stored for a key wins). */
export function createMemoryResponseCacheStore(): MemoryResponseCacheStore {
  const entries = new Map<string, GenerateResult>();
  return {
    get size() {
      return entries.size;
    },
    get(key: string) {
      return entries.get(key);
    },
    put({ key, result }) {
      if (!entries.has(key)) entries.set(key, result);
    },
    clear() {
      entries.clear();
    },
  };
}
