/**
 * The one interface every part of the toolkit uses to talk to a language model. Providers
 * (OpenAI-compatible HTTP, llama.cpp in process, a model trained here) implement it; middleware
 * (cache, retry, limits, usage) wraps it and returns the same interface.
 */

import type { ScoreRequest, ScoreResult } from "./scoring.js";
import type { TokenUsage } from "./token-usage.js";

export type { TokenUsage } from "./token-usage.js";

/** A chat message. */
export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** Sampling options; absent fields use the provider's defaults. */
export interface SamplingOptions {
  /** Softmax temperature; 0 means greedy. */
  temperature?: number;
  /** Nucleus sampling mass in (0, 1]. */
  topP?: number;
  /** Most new tokens to generate. */
  maxTokens?: number;
  /** Generation stops before any of these strings. */
  stop?: readonly string[];
  /** Sampling seed, for backends that honour one. */
  seed?: number;
}

/** A JSON Schema object (draft 2020-12 subset understood by OpenAI and llama.cpp grammars). */
export type JsonSchema = { readonly [key: string]: unknown };

/**
 * Structured output. `json-schema` works on OpenAI-compatible servers that support `response_format`
 * and on llama.cpp (converted to a grammar); `grammar` (GBNF) on llama.cpp only. Check
 * `LanguageModel.capabilities` before asking.
 */
export type ResponseFormat =
  | { type: "text" }
  | { type: "json-schema"; name: string; schema: JsonSchema }
  | { type: "grammar"; gbnf: string };

interface RequestCommon {
  sampling?: SamplingOptions;
  responseFormat?: ResponseFormat;
  /**
   * Who is calling and why, e.g. `run:abc/round:3/agent:17/draft`. The response cache keys on the
   * request plus this identity, so a rerun replays every call exactly while two distinct calls with
   * an identical request (two samples of one prompt) still get independent answers.
   * Absent: the request alone is the key.
   */
  callIdentity?: string;
  /** Cancels the call; providers abort in-flight HTTP requests or generation. */
  signal?: AbortSignal;
}

/** A chat request: messages in, one assistant message out. */
export interface ChatRequest extends RequestCommon {
  messages: readonly ChatMessage[];
  prompt?: never;
}

/** A plain completion request: text in, its continuation out. */
export interface CompletionRequest extends RequestCommon {
  prompt: string;
  messages?: never;
}

export type GenerateRequest = ChatRequest | CompletionRequest;

/** Why generation ended. */
export type FinishReason = "stop" | "length" | "other";

/** The result of one call. */
export interface GenerateResult {
  text: string;
  finishReason: FinishReason;
  usage: TokenUsage;
  /** The model that answered (as the backend names it). */
  modelId: string;
  /** True when the response cache served this result and no model was called. */
  cached?: boolean;
}

/** What a provider can do, so callers pick the best way to ask (e.g. ratings by grammar). */
export interface ModelCapabilities {
  chat: boolean;
  completion: boolean;
  jsonSchema: boolean;
  grammar: boolean;
  /**
   * Likelihood scoring (`score`): local checkpoints, llama.cpp, servers that echo prompt
   * log-probabilities. Absent means false.
   */
  score?: boolean;
}

/** A language model. */
export interface LanguageModel {
  /** Provider name, e.g. `openai`, `llama-cpp`, `local`, `scripted`. */
  readonly provider: string;
  /** The model spec string or name it was created from; part of every cache key. */
  readonly modelId: string;
  readonly capabilities: ModelCapabilities;
  /** Cost per million tokens in US dollars; 0 for local models. Absent: unknown (priced by table). */
  readonly pricePerMillionTokens?: { prompt: number; completion: number };
  generate(request: GenerateRequest): Promise<GenerateResult>;
  /** Log-likelihood of continuations; present exactly when `capabilities.score` is true. */
  score?(request: ScoreRequest): Promise<ScoreResult>;
  /**
   * Exact prompt tokens of `request` as this model will see them (chat template included), for models
   * that tokenize in process. Absent: budgets estimate from the text (UTF-8 bytes / 3).
   */
  countPromptTokens?(request: GenerateRequest): number;
  /** Releases sockets, model weights, contexts. Safe to call twice. */
  close?(): Promise<void>;
}

/** A function that wraps a model and returns a model with added behaviour (cache, retry, ...). */
export type LanguageModelMiddleware = (model: LanguageModel) => LanguageModel;
