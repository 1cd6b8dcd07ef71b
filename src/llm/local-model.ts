/**
 * The `local:<dir>` provider: a checkpoint directory (Hugging Face layout: config.json, safetensors,
 * tokenizer.json) run by this toolkit's own TypeScript decoder with a key/value cache. It serves
 * models trained here, and published Llama, SmolLM, Mistral and Qwen2 checkpoints, as agents,
 * observers or evaluated models, and scores continuations by log-likelihood.
 *
 * A LoRA adapter directory in PEFT's layout (adapter_config.json + adapter_model.safetensors, as
 * `train --lora-rank` writes) runs too: its `base_model_name_or_path` names the base checkpoint
 * directory (absolute, or relative to the adapter directory); the base and its tokenizer are loaded
 * from there and the adapter is merged into the weights at load, W + (alpha / r) B A, which gives the
 * same outputs as running base and adapter side by side.
 */
import { randomInt } from "node:crypto";
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { type Blas, createBlas } from "../engine/index.js";
import { loadCheckpoint } from "../model/checkpoint.js";
import type { CheckpointConfig } from "../model/checkpoint-config.js";
import { generateText } from "../model/generation/generate.js";
import { createInferenceDecoder } from "../model/generation/inference-decoder.js";
import { scoreContinuations } from "../model/generation/score-continuations.js";
import { ADAPTER_CONFIG_FILE_NAME, mergeLoraWeights, readLoraAdapter } from "../model/lora-adapter.js";
import { renderChatTemplate } from "../model/tokenizer/chat-template.js";
import { loadTokenizer, type Tokenizer } from "../model/tokenizer/tokenizer.js";
import { CancelledError, ModelSpecError, ProviderError, StableAlignmentError } from "../spec/errors.js";
import type { GenerateRequest, GenerateResult, LanguageModel } from "../spec/language-model.js";
import type { ScoreRequest, ScoreResult } from "../spec/scoring.js";

/** Options of {@link createLocalModel}. */
export interface LocalModelOptions {
  /** The checkpoint directory, or a LoRA adapter directory (PEFT layout) whose config names its base. */
  directory: string;
  /** Name in results and cache keys. Default `local:<directory>`. */
  modelId?: string;
  /** Matrix-multiply backend. Default: native BLAS if one loads (else TypeScript) with `threads` threads. */
  blas?: Blas;
  /** BLAS threads when `blas` is not given. Default: available cores - 1, at least 1. */
  threads?: number;
  /** Most new tokens when a request sets no `maxTokens`. Default 1024. */
  defaultMaxTokens?: number;
}

/** A loaded local checkpoint. */
export interface LocalModel extends LanguageModel {
  readonly provider: "local";
  readonly config: CheckpointConfig;
  readonly tokenizer: Tokenizer;
  /** What runs the model, for `doctor`: the TypeScript decoder and its BLAS backend. */
  readonly backend: string;
  /** Log-likelihood of each continuation of a context, one pass over the shared context. */
  score(request: ScoreRequest): Promise<ScoreResult>;
  close(): Promise<void>;
}

/**
 * Used for chat when the checkpoint's tokenizer has no chat template: plain `role: content` lines,
 * then `assistant:`. Models trained here get ChatML from the tokenizer trainer instead.
 */
export const FALLBACK_CHAT_TEMPLATE =
  "{% for message in messages %}{{ message['role'] + ': ' + message['content'] + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ 'assistant:' }}{% endif %}";

/**
 * Loads the checkpoint and tokenizer in `directory`. Sampling defaults: temperature 0 (greedy, as the
 * llama.cpp provider), top-p 1, and a fresh random seed per call when the request gives none (so two
 * identical sampled calls give independent answers; pass a seed to reproduce one). Stop strings and
 * the tokenizer's end tokens end a reply.
 * Structured output is not supported (capabilities say so). Calls run one at a time: generation is
 * CPU-bound, so interleaving them would only add memory. Throws ModelSpecError when the directory
 * is not a loadable checkpoint.
 */
export async function createLocalModel({
  directory,
  modelId = `local:${directory}`,
  blas,
  threads = Math.max(1, availableParallelism() - 1),
  defaultMaxTokens = 1024,
}: LocalModelOptions): Promise<LocalModel> {
  let checkpoint: Awaited<ReturnType<typeof loadCheckpoint>>;
  let tokenizer: Tokenizer;
  try {
    if (existsSync(join(directory, ADAPTER_CONFIG_FILE_NAME))) {
      const adapter = await readLoraAdapter({ directory });
      const base = await loadCheckpoint({ directory: adapter.baseModel });
      checkpoint = { ...base, weights: mergeLoraWeights({ weights: base.weights, adapter, source: directory }) };
      tokenizer = await loadTokenizer({ directory: adapter.baseModel });
    } else {
      checkpoint = await loadCheckpoint({ directory });
      tokenizer = await loadTokenizer({ directory });
    }
  } catch (error) {
    if (!(error instanceof StableAlignmentError)) throw error;
    throw new ModelSpecError(modelId, `${modelId}: cannot load the checkpoint: ${error.message}`, { cause: error });
  }
  const backendBlas = blas ?? createBlas({ threads });
  const decoder = createInferenceDecoder({ config: checkpoint.config, weights: checkpoint.weights, blas: backendBlas });
  const endTokenIds = [...new Set([...tokenizer.endTokenIds, ...checkpoint.config.eosTokenIds])];
  let queue: Promise<unknown> = Promise.resolve();
  let closed = false;

  const exclusive = <T>(work: () => Promise<T>): Promise<T> => {
    const result = queue.then(work, work);
    queue = result.catch(() => undefined);
    return result;
  };
  const assertOpen = () => {
    if (closed) throw new ProviderError(`${modelId} is closed`, { code: "MODEL_CLOSED", retryable: false });
  };

  const promptTokens = (request: GenerateRequest): number[] => {
    if (request.messages) {
      const text = renderChatTemplate({
        template: tokenizer.chatTemplate ?? FALLBACK_CHAT_TEMPLATE,
        messages: request.messages,
        specialTokens: tokenizer.specialTokenStrings,
      });
      // Chat templates write BOS themselves where the model wants it, as transformers assumes.
      return tokenizer.encode(text);
    }
    const tokens = tokenizer.encode(request.prompt, { addSpecialTokens: true });
    if (tokens.length === 0 && tokenizer.bosTokenId !== undefined) return [tokenizer.bosTokenId];
    return tokens;
  };

  return {
    provider: "local",
    modelId,
    capabilities: { chat: true, completion: true, jsonSchema: false, grammar: false, score: true },
    pricePerMillionTokens: { prompt: 0, completion: 0 },
    config: checkpoint.config,
    tokenizer,
    countPromptTokens: (request: GenerateRequest) => promptTokens(request).length,
    backend: `stable-alignment TypeScript decoder with key/value cache; BLAS: ${backendBlas.description}`,

    generate(request) {
      return exclusive(async (): Promise<GenerateResult> => {
        assertOpen();
        if (request.signal?.aborted) throw new CancelledError(`${modelId}: generation cancelled`);
        if (request.responseFormat && request.responseFormat.type !== "text") {
          throw new ProviderError(
            `${modelId}: local models do not support ${request.responseFormat.type} output; check capabilities first`,
            { code: "UNSUPPORTED_RESPONSE_FORMAT", retryable: false },
          );
        }
        const tokens = promptTokens(request);
        if (tokens.length === 0) {
          throw new ProviderError(`${modelId}: the prompt is empty and the tokenizer has no BOS token`, {
            retryable: false,
          });
        }
        const sampling = request.sampling ?? {};
        try {
          const result = await generateText({
            decoder,
            tokenizer,
            promptTokens: tokens,
            maxTokens: sampling.maxTokens ?? defaultMaxTokens,
            temperature: sampling.temperature ?? 0,
            topP: sampling.topP ?? 1,
            seed: sampling.seed ?? randomInt(2 ** 31),
            stop: sampling.stop ?? [],
            endTokenIds,
            ...(request.signal ? { signal: request.signal } : {}),
          });
          return {
            text: result.text,
            finishReason: result.finishReason,
            usage: { promptTokens: tokens.length, completionTokens: result.tokens.length },
            modelId,
          };
        } catch (error) {
          if (error instanceof StableAlignmentError) throw error;
          throw new ProviderError(`${modelId}: generation failed: ${(error as Error).message}`, {
            retryable: false,
            cause: error,
          });
        }
      });
    },

    score({ context, continuations, signal }) {
      return exclusive(async (): Promise<ScoreResult> => {
        assertOpen();
        if (signal?.aborted) throw new CancelledError(`${modelId}: scoring cancelled`);
        const { scores, evaluatedTokens } = scoreContinuations({ decoder, tokenizer, context, continuations });
        return { scores, usage: { promptTokens: evaluatedTokens, completionTokens: 0 }, modelId };
      });
    },

    async close() {
      closed = true;
    },
  };
}
