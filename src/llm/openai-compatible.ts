/**
 * A LanguageModel over any OpenAI-compatible HTTP server (OpenAI, vLLM, Ollama, llama.cpp server):
 * chat through `/v1/chat/completions`, plain completion through `/v1/completions`, and likelihood
 * scoring through `/v1/completions` with `echo` (see openai-echo-scoring.ts). Also holds the
 * small JSON-over-HTTP helper the embedding provider shares, so both map failures to the same
 * ProviderError codes.
 */

import { CancelledError, ProviderError } from "../spec/errors.js";
import type {
  FinishReason,
  GenerateRequest,
  GenerateResult,
  LanguageModel,
  ModelCapabilities,
  SamplingOptions,
} from "../spec/language-model.js";
import type { ScoreRequest, ScoreResult } from "../spec/scoring.js";
import { type HeaderReader, type HttpAnswer, sendOverHttp } from "./http-transport.js";
import { echoScoringBody, readEchoScores } from "./openai-echo-scoring.js";

/** A `fetch`-shaped function, injectable so tests and proxies can stand in for the network. */
export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;

/**
 * Stable `code` values on the ProviderErrors thrown here:
 * `PROVIDER_HTTP` (non-2xx answer; a redirect, never followed, is final), `PROVIDER_TIMEOUT` (no full answer within `timeoutMs`),
 * `PROVIDER_CONNECTION` (could not connect or the connection broke), `PROVIDER_BAD_RESPONSE`
 * (2xx answer that is not the expected JSON; retryable), `PROVIDER_UNSUPPORTED` (request the backend cannot serve).
 */
export type OpenAICompatibleErrorCode =
  | "PROVIDER_HTTP"
  | "PROVIDER_TIMEOUT"
  | "PROVIDER_CONNECTION"
  | "PROVIDER_BAD_RESPONSE"
  | "PROVIDER_UNSUPPORTED";

/** Options of {@link createOpenAICompatible}. */
export interface OpenAICompatibleOptions {
  /**
   * Server root, e.g. `https://api.openai.com/v1` or `http://127.0.0.1:8000`. A bare origin gets `/v1`
   * appended; a URL with a path is used as given.
   */
  baseURL: string;
  /** Bearer token; absent for local servers that need none. Never logged or echoed in errors. */
  apiKey?: string;
  /** Model name sent to the server, e.g. `gpt-4o-mini`. */
  model: string;
  /** The LanguageModel's `modelId` (part of every cache key). Default: `model`. */
  modelId?: string;
  /** How requests are sent. Default: node:http(s) with keep-alive (`http-transport.ts`), cheaper than `globalThis.fetch`. */
  fetch?: FetchFunction;
  /** Milliseconds before a request (including reading its body) is aborted. Default 120 000. */
  timeoutMs?: number;
  /** Extra request headers. */
  headers?: Readonly<Record<string, string>>;
  /** USD per million tokens; pass `{ prompt: 0, completion: 0 }` for local servers. Absent: priced by table. */
  pricePerMillionTokens?: { prompt: number; completion: number };
  /**
   * `chat` (default): chat through `/v1/chat/completions` and plain completion through `/v1/completions`.
   * `completion`: a base model served through `/v1/completions` only; capabilities say no chat and no
   * structured output, and a chat request is refused.
   */
  api?: "chat" | "completion";
  /**
   * Likelihood scoring (`score`) through `/v1/completions` with `echo` and `logprobs`, as vLLM serves
   * it. Default: true for any server except `api.openai.com`, whose completions API no longer echoes
   * prompt log-probabilities; set false for servers that do not echo them (Ollama, llama.cpp server).
   */
  score?: boolean;
}

/** Joins a base URL and an API path such as `/chat/completions` (see `baseURL`). */
export function openAIEndpoint(baseURL: string, path: string): string {
  const url = new URL(baseURL);
  const basePath = url.pathname.replace(/\/+$/, "");
  url.pathname = `${basePath === "" ? "/v1" : basePath}${path}`;
  url.search = "";
  url.hash = "";
  return url.toString();
}

/** Creates a LanguageModel that talks to an OpenAI-compatible server. */
export function createOpenAICompatible({
  baseURL,
  apiKey,
  model,
  modelId = model,
  fetch,
  timeoutMs = 120_000,
  headers,
  pricePerMillionTokens,
  api = "chat",
  score: scores = new URL(baseURL).hostname !== "api.openai.com",
}: OpenAICompatibleOptions): LanguageModel {
  const chatEndpoint = openAIEndpoint(baseURL, "/chat/completions");
  const completionEndpoint = openAIEndpoint(baseURL, "/completions");
  const client = createJsonClient({ apiKey, fetch, timeoutMs, headers });
  const capabilities: ModelCapabilities =
    api === "completion"
      ? { chat: false, completion: true, jsonSchema: false, grammar: false, score: scores }
      : { chat: true, completion: true, jsonSchema: true, grammar: false, score: scores };

  async function generate(request: GenerateRequest): Promise<GenerateResult> {
    const isChat = request.messages !== undefined;
    if (isChat && api === "completion") {
      throw new ProviderError(`${completionEndpoint}: ${modelId} is a completion model; send a prompt, not messages`, {
        code: "PROVIDER_UNSUPPORTED",
        retryable: false,
        endpoint: completionEndpoint,
      });
    }
    const endpoint = isChat ? chatEndpoint : completionEndpoint;
    const body: Record<string, unknown> = { model };
    if (isChat) {
      body.messages = request.messages;
    } else {
      body.prompt = request.prompt;
    }
    addSampling(body, request.sampling);
    const format = request.responseFormat;
    if (format !== undefined && format.type !== "text") {
      if (format.type === "grammar") {
        throw new ProviderError(`${endpoint}: OpenAI-compatible servers take no GBNF grammar; ask for json-schema`, {
          code: "PROVIDER_UNSUPPORTED",
          retryable: false,
          endpoint,
        });
      }
      body.response_format = {
        type: "json_schema",
        json_schema: { name: format.name, schema: format.schema, strict: true },
      };
    }
    const { json, status, requestId, bodyText } = await client.postJson(endpoint, body, request.signal);
    const choice = firstChoice(json);
    const text = isChat ? chatText(choice) : choice?.text;
    if (typeof text !== "string") {
      throw badResponse(endpoint, status, requestId, client.redact(bodyText), "no choices[0] text in the answer");
    }
    return {
      text,
      finishReason: finishReason(choice?.finish_reason),
      usage: readUsage(json),
      modelId: typeof json.model === "string" ? json.model : model,
    };
  }

  async function score({ context, continuations, signal }: ScoreRequest): Promise<ScoreResult> {
    const body = echoScoringBody({ model, context, continuations });
    const { json, status, requestId, bodyText } = await client.postJson(completionEndpoint, body, signal);
    const scores = readEchoScores({ json, continuations });
    if (scores === undefined) {
      throw badResponse(
        completionEndpoint,
        status,
        requestId,
        client.redact(bodyText),
        "the answer has no echoed prompt log-probabilities (choices[].logprobs with tokens, token_logprobs, text_offset)",
      );
    }
    return { scores, usage: readUsage(json), modelId: typeof json.model === "string" ? json.model : model };
  }

  const languageModel: LanguageModel = {
    provider: "openai",
    modelId,
    capabilities,
    generate,
    ...(scores ? { score } : {}),
  };
  if (pricePerMillionTokens !== undefined) {
    return { ...languageModel, pricePerMillionTokens: { ...pricePerMillionTokens } };
  }
  return languageModel;
}

function addSampling(body: Record<string, unknown>, sampling: SamplingOptions | undefined): void {
  if (sampling === undefined) return;
  if (sampling.temperature !== undefined) body.temperature = sampling.temperature;
  if (sampling.topP !== undefined) body.top_p = sampling.topP;
  if (sampling.maxTokens !== undefined) body.max_tokens = sampling.maxTokens;
  if (sampling.stop !== undefined && sampling.stop.length > 0) body.stop = sampling.stop;
  if (sampling.seed !== undefined) body.seed = sampling.seed;
}

interface Choice {
  text?: unknown;
  message?: { content?: unknown };
  finish_reason?: unknown;
}

function firstChoice(json: Record<string, unknown>): Choice | undefined {
  const choices = json.choices;
  if (!Array.isArray(choices)) return undefined;
  const first: unknown = choices[0];
  return typeof first === "object" && first !== null ? (first as Choice) : undefined;
}

function chatText(choice: Choice | undefined): unknown {
  const message = choice?.message;
  if (typeof message !== "object" || message === null) return undefined;
  // A refusal or tool-only answer carries `content: null`; it is a valid, empty answer.
  return message.content === null ? "" : message.content;
}

function finishReason(value: unknown): FinishReason {
  if (value === "stop" || value === "length") return value;
  return "other";
}

function readUsage(json: Record<string, unknown>): { promptTokens: number; completionTokens: number } {
  const usage = json.usage as { prompt_tokens?: unknown; completion_tokens?: unknown } | undefined;
  // Some servers (older llama.cpp, proxies) omit usage; count nothing rather than fail the call.
  const promptTokens = typeof usage?.prompt_tokens === "number" ? usage.prompt_tokens : 0;
  const completionTokens = typeof usage?.completion_tokens === "number" ? usage.completion_tokens : 0;
  return { promptTokens, completionTokens };
}

/**
 * What {@link JsonClient.postJson} returns: the parsed object plus what errors need for context
 * (`bodyText` is raw: pass it through `redact` before it goes into a message).
 */
export interface JsonAnswer {
  json: Record<string, unknown>;
  status: number;
  requestId: string | undefined;
  bodyText: string;
}

/** POSTs JSON with auth, timeout and cancellation; maps every failure to a ProviderError. */
export interface JsonClient {
  postJson(endpoint: string, body: unknown, signal: AbortSignal | undefined): Promise<JsonAnswer>;
  /** Removes the API key from text bound for an error message. */
  redact(text: string): string;
}

/** Creates the shared JSON client of the OpenAI-compatible providers. */
export function createJsonClient({
  apiKey,
  fetch,
  timeoutMs,
  headers,
}: {
  apiKey: string | undefined;
  /** Undefined: node:http(s) with keep-alive. */
  fetch: FetchFunction | undefined;
  timeoutMs: number;
  headers: Readonly<Record<string, string>> | undefined;
}): JsonClient {
  const requestHeaders: Record<string, string> = { "content-type": "application/json", ...headers };
  if (apiKey !== undefined && apiKey !== "") requestHeaders.authorization = `Bearer ${apiKey}`;
  const redact = (text: string): string =>
    apiKey !== undefined && apiKey.length >= 4 ? text.split(apiKey).join("[redacted]") : text;

  const send = async (url: string, body: string, signal: AbortSignal): Promise<HttpAnswer> => {
    if (fetch === undefined) return sendOverHttp({ url, headers: requestHeaders, body, signal });
    const response = await fetch(url, {
      method: "POST",
      headers: requestHeaders,
      body,
      signal,
      // No redirects (an API endpoint that moved is a configuration error) and no window: with both,
      // fetch sends the request as built instead of cloning it and teeing its body (~0.1 ms of CPU a call).
      redirect: "error",
      window: null,
    });
    return { status: response.status, headers: response.headers, text: await response.text() };
  };

  async function postJson(endpoint: string, body: unknown, signal: AbortSignal | undefined): Promise<JsonAnswer> {
    if (signal?.aborted) throw new CancelledError(`request to ${endpoint} cancelled`);
    // One controller per request, fed by our timer and the caller's signal: cheaper than
    // AbortSignal.any/timeout on the hot path and lets us tell a timeout from a cancellation.
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const onAbort = (): void => controller.abort();
    signal?.addEventListener("abort", onAbort, { once: true });
    let status = 0;
    let requestId: string | undefined;
    try {
      const answer = await send(endpoint, JSON.stringify(body), controller.signal);
      status = answer.status;
      requestId = answer.headers.get("x-request-id") ?? undefined;
      const bodyText = answer.text;
      if (status >= 300 && status < 400) throw redirected(endpoint, requestId);
      if (status < 200 || status > 299) throw httpError(endpoint, status, answer.headers, bodyText, requestId, redact);
      let json: unknown;
      try {
        json = JSON.parse(bodyText);
      } catch (error) {
        throw badResponse(endpoint, status, requestId, redact(bodyText), "the body is not JSON", error);
      }
      if (typeof json !== "object" || json === null || Array.isArray(json)) {
        throw badResponse(endpoint, status, requestId, redact(bodyText), "the body is not a JSON object");
      }
      return { json: json as Record<string, unknown>, status, requestId, bodyText };
    } catch (error) {
      if (error instanceof ProviderError) throw error;
      if (timedOut) {
        throw new ProviderError(`${endpoint}: no answer within ${timeoutMs} ms`, {
          code: "PROVIDER_TIMEOUT",
          retryable: true,
          endpoint,
          requestId,
          ...(status === 0 ? {} : { status }),
        });
      }
      if (signal?.aborted) throw new CancelledError(`request to ${endpoint} cancelled`);
      if (
        error instanceof Error &&
        (error.cause as { message?: unknown } | undefined)?.message === "unexpected redirect"
      ) {
        throw redirected(endpoint, requestId);
      }
      const detail = redact(describeCause(error));
      throw new ProviderError(`${endpoint}: connection failed (${detail})`, {
        code: "PROVIDER_CONNECTION",
        retryable: true,
        endpoint,
        requestId,
        ...(status === 0 ? {} : { status }),
      });
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
  }
  return { postJson, redact };
}

function describeCause(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
  if (cause !== undefined && typeof cause === "object") {
    if (typeof cause.code === "string") return `${error.message}: ${cause.code}`;
    if (typeof cause.message === "string") return `${error.message}: ${cause.message}`;
  }
  return error.message;
}

function redirected(endpoint: string, requestId: string | undefined): ProviderError {
  return new ProviderError(
    `${endpoint}: answered with a redirect, which is not followed; configure the address it redirects to`,
    { code: "PROVIDER_HTTP", retryable: false, endpoint, ...(requestId === undefined ? {} : { requestId }) },
  );
}

function httpError(
  endpoint: string,
  status: number,
  headers: HeaderReader,
  bodyText: string,
  requestId: string | undefined,
  redact: (text: string) => string,
): ProviderError {
  const retryable = status === 408 || status === 429 || status >= 500;
  const retryAfterMs = parseRetryAfter(headers);
  const reason = redact(errorMessageOf(bodyText)).slice(0, 200);
  const idNote = requestId === undefined ? "" : ` (request id ${requestId})`;
  return new ProviderError(`${endpoint} answered HTTP ${status}${idNote}: ${reason}`, {
    code: "PROVIDER_HTTP",
    status,
    retryable,
    endpoint,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    ...(requestId === undefined ? {} : { requestId }),
  });
}

function errorMessageOf(bodyText: string): string {
  try {
    const parsed = JSON.parse(bodyText) as { error?: { message?: unknown } | string; message?: unknown };
    if (typeof parsed.error === "string") return parsed.error;
    if (typeof parsed.error?.message === "string") return parsed.error.message;
    if (typeof parsed.message === "string") return parsed.message;
  } catch {
    // Not JSON: the raw text (an HTML error page, a proxy message) is the best context there is.
  }
  return bodyText.trim() === "" ? "(empty body)" : bodyText;
}

function badResponse(
  endpoint: string,
  status: number,
  requestId: string | undefined,
  bodyText: string,
  problem: string,
  cause?: unknown,
): ProviderError {
  const excerpt = JSON.stringify(bodyText.slice(0, 200));
  // A truncated or garbled 2xx body is a transport fault (a proxy, a dropped connection), and every
  // request here is idempotent: it is retried like a 5xx.
  return new ProviderError(`${endpoint} answered HTTP ${status} but ${problem}; body starts ${excerpt}`, {
    code: "PROVIDER_BAD_RESPONSE",
    status,
    retryable: true,
    endpoint,
    cause,
    ...(requestId === undefined ? {} : { requestId }),
  });
}

/**
 * Milliseconds to wait from `retry-after-ms` (OpenAI) or `Retry-After` (seconds or an HTTP date);
 * undefined when absent or unparsable.
 */
export function parseRetryAfter(headers: HeaderReader, now: number = Date.now()): number | undefined {
  const milliseconds = headers.get("retry-after-ms");
  if (milliseconds !== null) {
    const value = Number(milliseconds);
    if (Number.isFinite(value) && value >= 0) return value;
  }
  const retryAfter = headers.get("retry-after");
  if (retryAfter === null) return undefined;
  const trimmed = retryAfter.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
