import { BudgetExceededError } from "../../spec/errors.js";
import type {
  GenerateRequest,
  GenerateResult,
  LanguageModel,
  LanguageModelMiddleware,
} from "../../spec/language-model.js";
import type { UsageEntry } from "../../spec/response-cache.js";
import { defaultPriceTable, lookupPrice, type PriceTable, type TokenPrice } from "./price-table.js";
import type { CacheHit } from "./response-cache-middleware.js";
import { withGenerate } from "./wrap-language-model.js";

/** Counters of one model or of all models together. */
export interface UsageCounters {
  /** Calls answered, cache hits included. */
  calls: number;
  /** Calls answered from the response cache (no model call). */
  cachedCalls: number;
  /** Calls that ended in an error. */
  failedCalls: number;
  /** Tokens the backends processed (cache hits excluded). */
  promptTokens: number;
  completionTokens: number;
  /** US dollars spent. */
  costUsd: number;
}

/** Everything a usage meter counted. */
export interface UsageTotals extends UsageCounters {
  /** Per model id (the metered model's `modelId`). */
  perModel: Record<string, UsageCounters>;
}

/** Options of {@link createUsageMeter}. */
export interface UsageMeterOptions {
  /** Model id -> USD per million tokens; merged over {@link defaultPriceTable}. */
  priceTable?: PriceTable;
  /** Spending cap in US dollars; calls start only while spent < cap. Default: no cap. */
  budgetUsd?: number;
  /** Where the one-time "unknown price" warning goes. Default `process.emitWarning`. */
  warn?: (message: string) => void;
}

/** Counts calls, tokens and dollars across every model it wraps, and enforces a budget. */
export interface UsageMeter {
  /** Counts each call of the wrapped model and refuses new ones once the budget is spent. */
  readonly middleware: LanguageModelMiddleware;
  /** A snapshot of the counters. */
  totals(): UsageTotals;
  /** Registers a listener told about every answered call; returns the unsubscribe function. */
  onUsage(listener: (entry: UsageEntry) => void): () => void;
  /** Counts a call the response cache answered (wire it to the cache's `onCacheHit`). */
  recordCacheHit(hit: CacheHit): void;
}

function emptyCounters(): UsageCounters {
  return { calls: 0, cachedCalls: 0, failedCalls: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 };
}

/**
 * Creates a usage meter. A model's own `pricePerMillionTokens` wins (local models: 0); otherwise the
 * price table decides; a model in neither is priced 0 with one warning per model id. Once spending
 * reaches `budgetUsd`, new calls throw BudgetExceededError before reaching the backend; calls already
 * in flight finish and are counted.
 */
export function createUsageMeter({
  priceTable,
  budgetUsd = Number.POSITIVE_INFINITY,
  warn = (message) => process.emitWarning(message, { type: "StableAlignmentWarning" }),
}: UsageMeterOptions = {}): UsageMeter {
  const table: PriceTable = priceTable === undefined ? defaultPriceTable : { ...defaultPriceTable, ...priceTable };
  const total = emptyCounters();
  const perModel = new Map<string, UsageCounters>();
  const listeners = new Set<(entry: UsageEntry) => void>();
  const prices = new Map<string, TokenPrice>();

  function countersOf(modelId: string): UsageCounters {
    let counters = perModel.get(modelId);
    if (counters === undefined) {
      counters = emptyCounters();
      perModel.set(modelId, counters);
    }
    return counters;
  }

  function priceOf(model: LanguageModel): TokenPrice {
    let price = prices.get(model.modelId);
    if (price === undefined) {
      price = model.pricePerMillionTokens ?? lookupPrice(table, model.modelId);
      if (price === undefined) {
        warn(`no price known for model "${model.modelId}"; counting it as free (add it to the price table)`);
        price = { prompt: 0, completion: 0 };
      }
      prices.set(model.modelId, price);
    }
    return price;
  }

  function emit(entry: UsageEntry): void {
    for (const listener of listeners) listener(entry);
  }

  function record(modelId: string, result: GenerateResult, costUsd: number, latencyMs: number): void {
    const counters = countersOf(modelId);
    const cached = result.cached === true;
    for (const target of [total, counters]) {
      target.calls += 1;
      if (cached) {
        target.cachedCalls += 1;
      } else {
        target.promptTokens += result.usage.promptTokens;
        target.completionTokens += result.usage.completionTokens;
        target.costUsd += costUsd;
      }
    }
    if (listeners.size > 0) {
      emit({
        modelId,
        promptTokens: result.usage.promptTokens,
        completionTokens: result.usage.completionTokens,
        costUsd: cached ? 0 : costUsd,
        cached,
        latencyMs,
      });
    }
  }

  const middleware: LanguageModelMiddleware = (model: LanguageModel): LanguageModel => {
    async function generate(request: GenerateRequest): Promise<GenerateResult> {
      if (total.costUsd >= budgetUsd) throw new BudgetExceededError(total.costUsd, budgetUsd);
      const price = priceOf(model);
      const startedAt = performance.now();
      let result: GenerateResult;
      try {
        result = await model.generate(request);
      } catch (error) {
        total.failedCalls += 1;
        countersOf(model.modelId).failedCalls += 1;
        throw error;
      }
      const costUsd =
        (result.usage.promptTokens * price.prompt + result.usage.completionTokens * price.completion) / 1_000_000;
      record(model.modelId, result, costUsd, performance.now() - startedAt);
      return result;
    }
    return withGenerate(model, generate);
  };

  return {
    middleware,
    totals() {
      const snapshot: Record<string, UsageCounters> = {};
      for (const [modelId, counters] of perModel) snapshot[modelId] = { ...counters };
      return { ...total, perModel: snapshot };
    },
    onUsage(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    recordCacheHit(hit) {
      record(hit.modelId, hit.result, 0, hit.latencyMs);
    },
  };
}
