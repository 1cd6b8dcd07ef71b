/**
 * An in-process llama.cpp language model (node-llama-cpp). The model is loaded once; one context
 * holds `parallelSequences` sequences, so that many agents generate at the same time and llama.cpp
 * evaluates their tokens in shared batches. Further calls wait for a free sequence.
 */
import {
  type ChatHistoryItem,
  type ChatWrapper,
  type Llama,
  LlamaChat,
  LlamaCompletion,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaGrammar,
  type LlamaModel,
  resolveChatWrapper,
} from "node-llama-cpp";
import { planScoring } from "../model/generation/score-continuations.js";
import { CancelledError, ConfigError, ProviderError } from "../spec/errors.js";
import type {
  ChatMessage,
  FinishReason,
  GenerateRequest,
  GenerateResult,
  LanguageModel,
  ResponseFormat,
} from "../spec/language-model.js";
import type { ScoreRequest, ScoreResult } from "../spec/scoring.js";
import {
  defaultLlamaCppThreads,
  errorMessage,
  type LlamaCppGpu,
  loadGgufModel,
  loadLlamaRuntime,
} from "./llama-cpp-runtime.js";
import { alignmentTokenizer, scoreOnSequence } from "./llama-cpp-scoring.js";
import { SequencePool } from "./sequence-pool.js";

/** Options for `createLlamaCppModel`. */
export interface LlamaCppModelOptions {
  /** Path of a `.gguf` file. */
  modelPath: string;
  /** Name used in results and cache keys. Default `gguf:<modelPath>`. */
  modelId?: string;
  /**
   * CPU threads for evaluation. Default: physical math cores - 1, at least 1 (see
   * `defaultLlamaCppThreads`). Oversubscribing cores is the most common cause of slow local inference.
   */
  threads?: number;
  /** Tokens each sequence can hold (prompt + answer), capped at the model's training context. Default 4096. */
  contextSize?: number;
  /** Sequences generating at once; further calls queue. Each costs `contextSize` tokens of KV cache. Default 4. */
  parallelSequences?: number;
  /** Where llama.cpp runs. Default `"auto"` (best GPU, else CPU). */
  gpu?: LlamaCppGpu;
  /** Most new tokens per call when the request sets no `maxTokens`, so a rambling model cannot hang a run. Default 1024. */
  defaultMaxTokens?: number;
  /** A runtime to share; default: the process-wide one for `gpu`. */
  llama?: Llama;
  /**
   * Attention precision. `"fast"` (default): llama.cpp's defaults (f16 key/value cache, flash attention
   * where available), which move probabilities by ~1e-4. `"exact"`: f32 cache and no flash attention,
   * for likelihood benchmarks that must match other implementations (more memory).
   */
  attention?: "fast" | "exact";
}

/** A loaded llama.cpp model; `close()` frees its weights and context. */
export interface LlamaCppModel extends LanguageModel {
  readonly provider: "llama-cpp";
  /** Tokens per sequence, as created (llama.cpp may round up). */
  readonly contextSize: number;
  readonly parallelSequences: number;
  readonly threads: number;
  /** Sequences generating now and calls waiting for one. */
  sequenceUsage(): { busy: number; waiting: number };
  close(): Promise<void>;
}

/**
 * Loads a GGUF model once and returns a `LanguageModel` that runs concurrent calls as parallel
 * sequences. Chat uses the model's own chat template through node-llama-cpp's chat wrappers; a model
 * without one gets node-llama-cpp's best guess from its name and tokens, else its general
 * `### Human / ### Assistant` format. Sampling defaults are llama.cpp's: temperature 0 (greedy),
 * top-k 40, top-p 0.95; no repeat penalty. Structured output: `json-schema` and `grammar` (GBNF).
 * Throws `ModelSpecError` when the file is missing or not GGUF.
 */
export async function createLlamaCppModel({
  modelPath,
  modelId = `gguf:${modelPath}`,
  threads,
  contextSize = 4096,
  parallelSequences = 4,
  gpu = "auto",
  defaultMaxTokens = 1024,
  llama,
  attention = "fast",
}: LlamaCppModelOptions): Promise<LlamaCppModel> {
  if (!Number.isInteger(parallelSequences) || parallelSequences < 1) {
    throw new ConfigError(`parallelSequences must be a positive integer, got ${parallelSequences}`, {
      field: "parallelSequences",
    });
  }
  const runtime = llama ?? (await loadLlamaRuntime({ gpu }));
  const model = await loadGgufModel({ llama: runtime, modelPath, spec: modelId });
  const resolvedThreads = threads ?? defaultLlamaCppThreads(runtime.cpuMathCores);
  let context: LlamaContext;
  try {
    context = await model.createContext({
      contextSize: Math.min(contextSize, model.trainContextSize),
      sequences: parallelSequences,
      threads: resolvedThreads,
      ...(attention === "exact"
        ? { flashAttention: false, experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32" }
        : {}),
    });
  } catch (error) {
    await model.dispose();
    throw new ProviderError(
      `llama.cpp could not create a context of ${parallelSequences} x ${contextSize} tokens for ${modelPath}: ${errorMessage(error)}; lower contextSize or parallelSequences`,
      { code: "LLAMA_CPP_CONTEXT_FAILED", retryable: false, cause: error },
    );
  }
  const slots = Array.from({ length: parallelSequences }, () => new SequenceSlot(context.getSequence()));
  const pool = new SequencePool(slots);
  const grammars = new GrammarCache(runtime);
  let chatWrapper: ChatWrapper | undefined;
  let closed = false;

  const resolveWrapper = (): ChatWrapper => {
    // Resolution renders the template against every known format (seconds on a slow CPU), so it
    // happens on the first chat call rather than at load, and only once.
    chatWrapper ??= resolveChatWrapper(model, { warningLogs: false });
    return chatWrapper;
  };

  const assertOpen = (signal: AbortSignal | undefined): void => {
    if (closed) throw new ProviderError(`${modelId} is closed`, { code: "MODEL_CLOSED", retryable: false });
    throwIfCancelled(signal);
  };
  /** Runs `work` on a free sequence; failures become ProviderErrors naming `what`. */
  const onSlot = async <T>(
    what: string,
    signal: AbortSignal | undefined,
    work: (slot: SequenceSlot) => Promise<T>,
  ): Promise<T> => {
    const slot = await pool.acquire(signal);
    try {
      return await work(slot);
    } catch (error) {
      if (signal?.aborted) throw new CancelledError(`${modelId}: ${what} cancelled`);
      if (error instanceof ProviderError) throw error;
      throw new ProviderError(`${modelId}: llama.cpp ${what} failed: ${errorMessage(error)}`, {
        retryable: false,
        cause: error,
      });
    } finally {
      pool.release(slot);
    }
  };

  return {
    provider: "llama-cpp",
    modelId,
    capabilities: { chat: true, completion: true, jsonSchema: true, grammar: true, score: true },
    pricePerMillionTokens: { prompt: 0, completion: 0 },
    contextSize: context.contextSize,
    parallelSequences,
    threads: resolvedThreads,

    sequenceUsage() {
      return { busy: parallelSequences - pool.idleCount, waiting: pool.waitingCount };
    },

    countPromptTokens(request: GenerateRequest): number {
      return request.messages
        ? chatPromptTokens(model, resolveWrapper(), toChatHistory(request.messages, modelId))
        : completionPromptTokens(model, request.prompt);
    },

    async generate(request: GenerateRequest): Promise<GenerateResult> {
      assertOpen(request.signal);
      const grammar = await grammars.get(request.responseFormat);
      const wrapper = request.messages ? resolveWrapper() : undefined;
      return onSlot("generation", request.signal, (slot) =>
        runOnSlot({ slot, request, model, grammar, wrapper, modelId, defaultMaxTokens }),
      );
    },

    async score(request: ScoreRequest): Promise<ScoreResult> {
      assertOpen(request.signal);
      const plan = planScoring({
        tokenizer: alignmentTokenizer(model),
        context: request.context,
        continuations: request.continuations,
        maxPositions: context.contextSize,
      });
      return onSlot("scoring", request.signal, (slot) => scoreOnSequence({ sequence: slot.sequence, plan, modelId }));
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      pool.close(() => new ProviderError(`${modelId} is closed`, { code: "MODEL_CLOSED", retryable: false }));
      await context.dispose();
      await model.dispose();
    },
  };
}

/** Tokens of a chat history as the model sees it: the rendered chat template, tokenized. */
function chatPromptTokens(model: LlamaModel, wrapper: ChatWrapper, history: ChatHistoryItem[]): number {
  return wrapper.generateContextState({ chatHistory: history }).contextText.tokenize(model.tokenizer).length;
}

/** Tokens of a completion prompt, BOS included when the model prepends one. */
function completionPromptTokens(model: LlamaModel, prompt: string): number {
  const bosTokens = model.tokens.shouldPrependBosToken && model.tokens.bos !== null ? 1 : 0;
  return model.tokenize(prompt, false).length + bosTokens;
}

/** One context sequence with the evaluators bound to it, created on first use and reused. */
class SequenceSlot {
  private completion: LlamaCompletion | undefined;
  private chat: LlamaChat | undefined;
  constructor(readonly sequence: LlamaContextSequence) {}

  completionEvaluator(): LlamaCompletion {
    this.completion ??= new LlamaCompletion({ contextSequence: this.sequence });
    return this.completion;
  }

  chatEvaluator(wrapper: ChatWrapper): LlamaChat {
    this.chat ??= new LlamaChat({ contextSequence: this.sequence, chatWrapper: wrapper });
    return this.chat;
  }
}

async function runOnSlot({
  slot,
  request,
  model,
  grammar,
  wrapper,
  modelId,
  defaultMaxTokens,
}: {
  slot: SequenceSlot;
  request: GenerateRequest;
  model: LlamaModel;
  grammar: LlamaGrammar | undefined;
  wrapper: ChatWrapper | undefined;
  modelId: string;
  defaultMaxTokens: number;
}): Promise<GenerateResult> {
  const sampling = request.sampling ?? {};
  let completionTokens = 0;
  const options = {
    maxTokens: sampling.maxTokens ?? defaultMaxTokens,
    temperature: sampling.temperature ?? 0,
    ...(sampling.topP !== undefined ? { topP: sampling.topP } : {}),
    ...(sampling.seed !== undefined ? { seed: sampling.seed } : {}),
    ...(sampling.stop && sampling.stop.length > 0 ? { customStopTriggers: sampling.stop } : {}),
    ...(grammar ? { grammar } : {}),
    ...(request.signal ? { signal: request.signal } : {}),
    repeatPenalty: false as const,
  };
  if (request.messages) {
    if (!wrapper) throw new Error("chat wrapper missing");
    const history = toChatHistory(request.messages, modelId);
    const promptTokens = chatPromptTokens(model, wrapper, history);
    const response = await slot.chatEvaluator(wrapper).generateResponse(history, {
      ...options,
      onResponseChunk: (chunk) => {
        completionTokens += chunk.tokens.length;
      },
    });
    return {
      text: response.response,
      finishReason: toFinishReason(response.metadata.stopReason),
      usage: { promptTokens, completionTokens },
      modelId,
    };
  }
  const promptTokens = completionPromptTokens(model, request.prompt);
  const response = await slot.completionEvaluator().generateCompletionWithMeta(request.prompt, {
    ...options,
    onToken: (tokens) => {
      completionTokens += tokens.length;
    },
  });
  return {
    text: response.response,
    finishReason: toFinishReason(response.metadata.stopReason),
    usage: { promptTokens, completionTokens },
    modelId,
  };
}

/**
 * Messages to node-llama-cpp's history. A final assistant message is continued (prefill) and only the
 * new text is returned; otherwise an empty assistant turn is opened.
 */
function toChatHistory(messages: readonly ChatMessage[], modelId: string): ChatHistoryItem[] {
  if (messages.length === 0) {
    throw new ProviderError(`${modelId}: a chat request needs at least one message`, {
      code: "REQUEST_INVALID",
      retryable: false,
    });
  }
  const history: ChatHistoryItem[] = messages.map((message): ChatHistoryItem => {
    if (message.role === "assistant") return { type: "model", response: [message.content] };
    return { type: message.role, text: message.content };
  });
  if (messages[messages.length - 1]?.role !== "assistant") history.push({ type: "model", response: [] });
  return history;
}

function toFinishReason(stopReason: string): FinishReason {
  if (stopReason === "maxTokens") return "length";
  if (stopReason === "eogToken" || stopReason === "stopGenerationTrigger" || stopReason === "customStopTrigger") {
    return "stop";
  }
  return "other";
}

function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError("generation cancelled before it started");
}

/** Compiled grammars by source text: agents ask with the same rating grammar thousands of times. */
class GrammarCache {
  private readonly grammars = new Map<string, Promise<LlamaGrammar>>();
  constructor(private readonly llama: Llama) {}

  get(format: ResponseFormat | undefined): Promise<LlamaGrammar | undefined> {
    if (!format || format.type === "text") return Promise.resolve(undefined);
    const key = format.type === "grammar" ? `gbnf:${format.gbnf}` : `json:${JSON.stringify(format.schema)}`;
    let grammar = this.grammars.get(key);
    if (!grammar) {
      grammar = this.compile(format).catch((error: unknown) => {
        this.grammars.delete(key);
        const what = format.type === "grammar" ? "GBNF grammar" : `JSON schema "${format.name}"`;
        throw new ProviderError(`llama.cpp rejected the ${what}: ${errorMessage(error)}`, {
          code: "GRAMMAR_INVALID",
          retryable: false,
          cause: error,
        });
      });
      this.grammars.set(key, grammar);
    }
    return grammar;
  }

  private compile(format: Exclude<ResponseFormat, { type: "text" }>): Promise<LlamaGrammar> {
    if (format.type === "grammar") return this.llama.createGrammar({ grammar: format.gbnf });
    // node-llama-cpp types its schema subset precisely; ours is open, and it rejects what it cannot express.
    const schema = format.schema as Parameters<Llama["createGrammarForJsonSchema"]>[0];
    return this.llama.createGrammarForJsonSchema(schema);
  }
}
