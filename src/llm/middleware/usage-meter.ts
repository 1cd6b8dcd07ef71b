import type {
  GenerateRequest,
  GenerateResult,
  LanguageModel,
  LanguageModelMiddleware,
} from "../../spec/language-model.js";
import type { RetryCause, RetryEntry, UsageEntry } from "../../spec/response-cache.js";
import type { ScoreRequest, ScoreResult } from "../../spec/scoring.js";
import { type BudgetState, createBudgetGate } from "./budget-gate.js";
import { defaultPriceTable, lookupPrice, type PriceTable, type TokenPrice } from "./price-table.js";
import type { CacheHit } from "./response-cache-middleware.js";
import { withCalls } from "./wrap-language-model.js";

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

/** Retries of all models together, per cause (see RetryCause). */
export type RetryCounts = Record<RetryCause, number>;

/** Everything a usage meter counted. */
export interface UsageTotals extends UsageCounters {
  /** Per model id (the metered model's `modelId`). */
  perModel: Record<string, UsageCounters>;
  /** Retries per cause, told by the retry layer through `recordRetry`. */
  retries: RetryCounts;
}

/** Options of {@link createUsageMeter}. */
export interface UsageMeterOptions {
  /** Model id -> USD per million tokens; merged over {@link defaultPriceTable}. */
  priceTable?: PriceTable;
  /**
   * Spending cap in US dollars. A call starts only once spent + reserved + its own reservation stays
   * within it (see {@link createUsageMeter}). Default: no cap.
   */
  budgetUsd?: number;
  /** US dollars already spent toward `budgetUsd` (a resumed run's ledger). Default 0. */
  spentUsd?: number;
  /**
   * Most new tokens for a call that names none: the meter sends it with the request, so every call
   * carries a bound its reservation can rely on. Default 1024.
   */
  defaultMaxTokens?: number;
  /** Where the one-time "unknown price" warning goes. Default `process.emitWarning`. */
  warn?: (message: string) => void;
}

/** Counts calls, tokens and dollars across every model it wraps, and enforces a budget. */
export interface UsageMeter {
  /** Counts each call of the wrapped model and holds it to the budget (reserve, wait or refuse). */
  readonly middleware: LanguageModelMiddleware;
  /** A snapshot of the counters (this meter's calls only; see `budget()` for the run's spend). */
  totals(): UsageTotals;
  /** The budget, the spend counted toward it and what calls in flight hold. */
  budget(): BudgetState;
  /**
   * Resolves once no metered call is in flight or waiting for budget (at once when none is): after a
   * budget stop, wait for it before reading the ledger, so calls that were still running are counted.
   */
  idle(): Promise<void>;
  /** Registers a listener told about every answered call; returns the unsubscribe function. */
  onUsage(listener: (entry: UsageEntry) => void): () => void;
  /** Counts a call the response cache answered (wire it to the cache's `onCacheHit`). */
  recordCacheHit(hit: CacheHit): void;
  /** Counts one retry (wire it to the retry layer's `onRetry`). */
  recordRetry(entry: RetryEntry): void;
  /** Registers a listener told about every retry; returns the unsubscribe function. */
  onRetry(listener: (entry: RetryEntry) => void): () => void;
}

function emptyCounters(): UsageCounters {
  return { calls: 0, cachedCalls: 0, failedCalls: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 };
}

/** Chat markup (role, separators) per message and the reply's priming, in tokens: a safe margin. */
const MESSAGE_OVERHEAD_TOKENS = 4;
const REPLY_PRIMING_TOKENS = 3;
const schemaBytes = new WeakMap<object, number>();

/**
 * A conservative prompt-token count: the model's own count when it tokenizes in process, otherwise
 * UTF-8 bytes / 3 (English runs near 4 bytes a token) plus the chat markup and any JSON schema sent.
 */
export function estimatePromptTokens(model: LanguageModel, request: GenerateRequest): number {
  if (model.countPromptTokens !== undefined) return model.countPromptTokens(request);
  let bytes = 0;
  let overhead = 0;
  if (request.messages !== undefined) {
    for (const message of request.messages) bytes += Buffer.byteLength(message.content, "utf8");
    overhead = request.messages.length * MESSAGE_OVERHEAD_TOKENS + REPLY_PRIMING_TOKENS;
  } else {
    bytes = Buffer.byteLength(request.prompt, "utf8");
  }
  const format = request.responseFormat;
  if (format !== undefined && format.type === "json-schema") {
    let size = schemaBytes.get(format.schema);
    if (size === undefined) {
      size = Buffer.byteLength(JSON.stringify(format.schema), "utf8");
      schemaBytes.set(format.schema, size);
    }
    bytes += size;
  }
  return Math.ceil(bytes / 3) + overhead;
}

/**
 * A conservative count of the tokens a score call evaluates: for each continuation, context plus
 * continuation as one prompt, counted exactly by a model that tokenizes in process
 * (`countPromptTokens`), otherwise as UTF-8 bytes / 3.
 */
export function estimateScoreTokens(model: LanguageModel, request: ScoreRequest): number {
  let tokens = 0;
  for (const continuation of request.continuations) {
    const prompt = request.context + continuation;
    tokens +=
      model.countPromptTokens !== undefined
        ? model.countPromptTokens({ prompt })
        : Math.ceil(Buffer.byteLength(prompt, "utf8") / 3);
  }
  return tokens;
}

const emptyRetryCounts = (): RetryCounts => ({
  "rate-limit": 0,
  "server-error": 0,
  "bad-body": 0,
  timeout: 0,
  connection: 0,
});

/**
 * Creates a usage meter. A model's own `pricePerMillionTokens` wins (local models: 0); otherwise the
 * price table decides; a model in neither is priced 0 with one warning per model id.
 *
 * The budget never overshoots on honest usage: before a priced call goes down the stack, the meter
 * reserves its most cost (estimated prompt tokens, see {@link estimatePromptTokens}, plus the call's
 * max tokens), so calls queued behind a concurrency limiter already hold theirs. While spent + reserved
 * + the reservation would pass `budgetUsd` the call waits for calls in flight to settle; once spent +
 * the reservation alone would pass it, the call is refused with BudgetExceededError before it reaches
 * the backend. A settled call releases its reservation and spends its real usage. `score` calls are
 * held to the same budget: their reservation is {@link estimateScoreTokens} at the prompt price plus one
 * completion token per continuation (the token an echo server generates).
 */
export function createUsageMeter({
  priceTable,
  budgetUsd = Number.POSITIVE_INFINITY,
  spentUsd = 0,
  defaultMaxTokens = 1024,
  warn = (message) => process.emitWarning(message, { type: "StableAlignmentWarning" }),
}: UsageMeterOptions = {}): UsageMeter {
  const table: PriceTable = priceTable === undefined ? defaultPriceTable : { ...defaultPriceTable, ...priceTable };
  const total = emptyCounters();
  const perModel = new Map<string, UsageCounters>();
  const listeners = new Set<(entry: UsageEntry) => void>();
  const retryListeners = new Set<(entry: RetryEntry) => void>();
  const retries = emptyRetryCounts();
  const prices = new Map<string, TokenPrice>();
  const capped = Number.isFinite(budgetUsd);
  const gate = createBudgetGate({ budgetUsd, spentUsd });

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

  function record({
    modelId,
    result,
    costUsd,
    latencyMs,
    callIdentity,
    retries,
  }: {
    modelId: string;
    result: GenerateResult | ScoreResult;
    costUsd: number;
    latencyMs: number;
    callIdentity: string | undefined;
    retries: number;
  }): void {
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
        retries,
        ...(callIdentity === undefined ? {} : { callIdentity }),
      });
    }
  }

  /** Retries told so far of each identified call in flight (the retry layer sits below the meter). */
  const retriesInFlight = new Map<string, number>();
  const takeRetries = (callIdentity: string | undefined): number => {
    if (callIdentity === undefined) return 0;
    const retried = retriesInFlight.get(callIdentity);
    if (retried === undefined) return 0;
    retriesInFlight.delete(callIdentity);
    return retried;
  };

  /** Reserves `reservation`, runs `call`, then settles with its real cost and records it. */
  async function metered<R extends GenerateResult | ScoreResult>({
    model,
    price,
    reservation,
    signal,
    callIdentity,
    call,
  }: {
    model: LanguageModel;
    price: TokenPrice;
    reservation: number;
    signal: AbortSignal | undefined;
    callIdentity: string | undefined;
    call: () => Promise<R>;
  }): Promise<R> {
    const waiting = gate.reserve(reservation, signal);
    if (waiting !== undefined) await waiting;
    const startedAt = performance.now();
    let result: R;
    try {
      result = await call();
    } catch (error) {
      gate.settle(reservation, 0);
      takeRetries(callIdentity);
      total.failedCalls += 1;
      countersOf(model.modelId).failedCalls += 1;
      throw error;
    }
    const costUsd =
      (result.usage.promptTokens * price.prompt + result.usage.completionTokens * price.completion) / 1_000_000;
    try {
      record({
        modelId: model.modelId,
        result,
        costUsd,
        latencyMs: performance.now() - startedAt,
        callIdentity,
        retries: takeRetries(callIdentity),
      });
    } finally {
      gate.settle(reservation, costUsd);
    }
    return result;
  }

  const middleware: LanguageModelMiddleware = (model: LanguageModel): LanguageModel => {
    function generate(original: GenerateRequest): Promise<GenerateResult> {
      const price = priceOf(model);
      const request =
        original.sampling?.maxTokens === undefined
          ? { ...original, sampling: { ...original.sampling, maxTokens: defaultMaxTokens } }
          : original;
      let reservation = 0;
      if (capped && (price.prompt > 0 || price.completion > 0)) {
        const maxTokens = request.sampling?.maxTokens ?? defaultMaxTokens;
        reservation = (estimatePromptTokens(model, request) * price.prompt + maxTokens * price.completion) / 1_000_000;
      }
      return metered({
        model,
        price,
        reservation,
        signal: request.signal,
        callIdentity: request.callIdentity,
        call: () => model.generate(request),
      });
    }
    const innerScore = model.score;
    if (innerScore === undefined) return withCalls(model, { generate });
    const score = (request: ScoreRequest): Promise<ScoreResult> => {
      const price = priceOf(model);
      let reservation = 0;
      if (capped && (price.prompt > 0 || price.completion > 0)) {
        // An echo server may generate one token per continuation besides the echoed prompt.
        const completionTokens = request.continuations.length;
        reservation =
          (estimateScoreTokens(model, request) * price.prompt + completionTokens * price.completion) / 1_000_000;
      }
      return metered({
        model,
        price,
        reservation,
        signal: request.signal,
        callIdentity: request.callIdentity,
        call: () => innerScore.call(model, request),
      });
    };
    return withCalls(model, { generate, score });
  };

  return {
    middleware,
    totals() {
      const snapshot: Record<string, UsageCounters> = {};
      for (const [modelId, counters] of perModel) snapshot[modelId] = { ...counters };
      return { ...total, perModel: snapshot, retries: { ...retries } };
    },
    budget: () => gate.state(),
    idle: () => gate.idle(),
    onUsage(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    recordCacheHit(hit) {
      record({
        modelId: hit.modelId,
        result: hit.result,
        costUsd: 0,
        latencyMs: hit.latencyMs,
        callIdentity: hit.callIdentity,
        retries: 0,
      });
    },
    recordRetry(entry) {
      retries[entry.cause] += 1;
      if (entry.callIdentity !== undefined) {
        retriesInFlight.set(entry.callIdentity, (retriesInFlight.get(entry.callIdentity) ?? 0) + 1);
      }
      for (const listener of retryListeners) listener(entry);
    },
    onRetry(listener) {
      retryListeners.add(listener);
      return () => {
        retryListeners.delete(listener);
      };
    },
  };
}
