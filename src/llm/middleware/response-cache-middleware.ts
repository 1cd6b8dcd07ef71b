import { createHash } from "node:crypto";
import { CancelledError } from "../../spec/errors.js";
import type {
  GenerateRequest,
  GenerateResult,
  LanguageModel,
  LanguageModelMiddleware,
  ResponseFormat,
} from "../../spec/language-model.js";
import type { ResponseCacheStore } from "../../spec/response-cache.js";
import type { ScoreRequest, ScoreResult } from "../../spec/scoring.js";
import { withCalls } from "./wrap-language-model.js";

/** What `onCacheHit` reports: a call served without any model call. */
export interface CacheHit {
  modelId: string;
  /** The served result: a generation or a score. */
  result: GenerateResult | ScoreResult;
  /** Milliseconds from the call to its answer (a coalesced call waited for its twin). */
  latencyMs: number;
  /** The served request's `callIdentity`; absent when it named none. */
  callIdentity?: string;
}

/** Options of {@link createResponseCacheMiddleware}. */
export interface ResponseCacheOptions {
  /** Where results live (SQLite in the CLI, memory in tests). */
  store: ResponseCacheStore;
  /** Told about each call served from the cache or from an identical call in flight (usage accounting). */
  onCacheHit?: (hit: CacheHit) => void;
}

/**
 * Caches results by {@link responseCacheKey} (generate) and {@link scoreCacheKey} (score), so a rerun
 * replays every call with no model call, and coalesces identical calls in flight into one backend call.
 * Results served this way carry `cached: true`. Failures are never cached.
 */
export function createResponseCacheMiddleware({ store, onCacheHit }: ResponseCacheOptions): LanguageModelMiddleware {
  return (model: LanguageModel): LanguageModel => {
    // One map for both kinds: generate and score keys hash different canonical objects.
    const inFlight = new Map<string, Promise<GenerateResult | ScoreResult>>();

    async function cached<R extends GenerateResult | ScoreResult>({
      key,
      read,
      write,
      call,
      signal,
      callIdentity,
    }: {
      key: string;
      read: () => R | undefined;
      write: (result: R) => void;
      call: () => Promise<R>;
      signal: AbortSignal | undefined;
      callIdentity: string | undefined;
    }): Promise<R> {
      const startedAt = performance.now();
      for (;;) {
        const stored = read();
        if (stored !== undefined) return hit(stored, startedAt, callIdentity);
        const twin = inFlight.get(key) as Promise<R> | undefined;
        if (twin === undefined) break;
        // A twin that fails (its caller cancelled, say) must not fail us: look again and maybe lead.
        const result = await waitFor(twin, signal);
        if (result !== undefined) return hit(result, startedAt, callIdentity);
      }
      const pending = call();
      inFlight.set(key, pending);
      try {
        const result = await pending;
        const { cached: _cached, ...plain } = result;
        write(plain as R);
        return result;
      } finally {
        inFlight.delete(key);
      }
    }

    function hit<R extends GenerateResult | ScoreResult>(
      result: R,
      startedAt: number,
      callIdentity: string | undefined,
    ): R {
      const served = { ...result, cached: true };
      onCacheHit?.({
        modelId: model.modelId,
        result: served,
        latencyMs: performance.now() - startedAt,
        ...(callIdentity === undefined ? {} : { callIdentity }),
      });
      return served;
    }

    function generate(request: GenerateRequest): Promise<GenerateResult> {
      const key = responseCacheKey(model.modelId, request);
      return cached({
        key,
        read: () => store.get(key),
        write: (result) => store.put({ key, modelId: model.modelId, callIdentity: request.callIdentity, result }),
        call: () => model.generate(request),
        signal: request.signal,
        callIdentity: request.callIdentity,
      });
    }

    const innerScore = model.score;
    const score =
      innerScore === undefined
        ? undefined
        : (request: ScoreRequest): Promise<ScoreResult> => {
            const key = scoreCacheKey(model.modelId, request);
            return cached({
              key,
              read: () => store.getScore(key),
              write: (result) =>
                store.putScore({ key, modelId: model.modelId, callIdentity: request.callIdentity, result }),
              call: () => innerScore.call(model, request),
              signal: request.signal,
              callIdentity: request.callIdentity,
            });
          };

    return withCalls(model, { generate, ...(score === undefined ? {} : { score }) });
  };
}

async function waitFor<R>(twin: Promise<R>, signal: AbortSignal | undefined): Promise<R | undefined> {
  const settled = twin.then(
    (result) => result,
    () => undefined,
  );
  if (signal === undefined) return settled;
  if (signal.aborted) throw new CancelledError("cancelled while waiting for an identical call");
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new CancelledError("cancelled while waiting for an identical call"));
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([settled, aborted]);
  } finally {
    if (onAbort !== undefined) signal.removeEventListener("abort", onAbort);
  }
}

/**
 * The cache key of a call: SHA-256 (hex) of the canonical JSON of
 * `{ modelId, messages | prompt, sampling, responseFormat, callIdentity }`. Key order and absent
 * fields do not matter; everything else does.
 */
export function responseCacheKey(modelId: string, request: GenerateRequest): string {
  const keyed = {
    modelId,
    messages: request.messages,
    prompt: request.prompt,
    sampling: request.sampling,
    responseFormat: request.responseFormat === undefined ? undefined : canonicalFormat(request.responseFormat),
    callIdentity: request.callIdentity,
  };
  return createHash("sha256").update(canonicalJson(keyed)).digest("hex");
}

/**
 * The cache key of a score call: SHA-256 (hex) of the canonical JSON of
 * `{ kind: "score", modelId, context, continuations, callIdentity }`. Never equal to a generate key.
 */
export function scoreCacheKey(modelId: string, request: ScoreRequest): string {
  const keyed = {
    kind: "score",
    modelId,
    context: request.context,
    continuations: request.continuations,
    callIdentity: request.callIdentity,
  };
  return createHash("sha256").update(canonicalJson(keyed)).digest("hex");
}

// Schemas are large and reused across calls; canonicalize each object once.
const canonicalFormats = new WeakMap<ResponseFormat, string>();

function canonicalFormat(format: ResponseFormat): RawJson {
  let text = canonicalFormats.get(format);
  if (text === undefined) {
    text = canonicalJson(format);
    canonicalFormats.set(format, text);
  }
  return new RawJson(text);
}

class RawJson {
  constructor(readonly text: string) {}
}

/** JSON with object keys sorted and undefined members dropped, so equal values give equal text. */
export function canonicalJson(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (typeof value !== "object" || value === null) return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) {
    let text = "[";
    for (let index = 0; index < value.length; index += 1) {
      if (index > 0) text += ",";
      const item: unknown = value[index];
      text += item === undefined ? "null" : canonicalJson(item);
    }
    return `${text}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  let text = "{";
  let first = true;
  for (const key of keys) {
    const member = record[key];
    if (member === undefined) continue;
    text += `${first ? "" : ","}${JSON.stringify(key)}:${canonicalJson(member)}`;
    first = false;
  }
  return `${text}}`;
}
