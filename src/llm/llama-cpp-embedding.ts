/**
 * Text embeddings from a GGUF model run in process by llama.cpp (node-llama-cpp). Works best with a
 * model made for embeddings (nomic-embed, bge, gte); a chat model also works, pooled as llama.cpp
 * decides for its architecture (for decoder models usually the last token).
 */
import type { Llama, LlamaEmbeddingContext, Token } from "node-llama-cpp";
import type { EmbeddingModel } from "../spec/embedding-model.js";
import { CancelledError, ProviderError } from "../spec/errors.js";
import {
  defaultLlamaCppThreads,
  errorMessage,
  type LlamaCppGpu,
  loadGgufModel,
  loadLlamaRuntime,
} from "./llama-cpp-runtime.js";

/**
 * Cosine distance under which two questions count as similar, for sentence-embedding GGUF models
 * (nomic-embed, bge): the reference's 0.3 for ada-002 carries over, as these models spread unrelated
 * sentences over a similar range. Tune per model with `distanceThreshold`.
 */
export const LLAMA_CPP_DEFAULT_DISTANCE_THRESHOLD = 0.3;

/** Options for `createLlamaCppEmbedding`. */
export interface LlamaCppEmbeddingOptions {
  /** Path of a `.gguf` file. */
  modelPath: string;
  /** Name used in records and cache keys. Default `gguf:<modelPath>`. */
  modelId?: string;
  /** CPU threads. Default: physical math cores - 1, at least 1. */
  threads?: number;
  /** Most tokens embedded per text; longer texts are cut to their first tokens. Default 2048 (capped at the model's). */
  contextSize?: number;
  /** Where llama.cpp runs. Default `"auto"`. */
  gpu?: LlamaCppGpu;
  /** See `LLAMA_CPP_DEFAULT_DISTANCE_THRESHOLD`. Default 0.3. */
  distanceThreshold?: number;
  /** A runtime to share; default: the process-wide one for `gpu`. */
  llama?: Llama;
}

/**
 * Loads a GGUF model once for embeddings. Vectors are L2-normalised, so a dot product is the cosine
 * similarity. Texts are embedded one after another (llama.cpp embeds one sequence at a time here).
 * Throws `ModelSpecError` when the file is missing or not GGUF.
 */
export async function createLlamaCppEmbedding({
  modelPath,
  modelId = `gguf:${modelPath}`,
  threads,
  contextSize = 2048,
  gpu = "auto",
  distanceThreshold = LLAMA_CPP_DEFAULT_DISTANCE_THRESHOLD,
  llama,
}: LlamaCppEmbeddingOptions): Promise<EmbeddingModel & { close(): Promise<void> }> {
  const runtime = llama ?? (await loadLlamaRuntime({ gpu }));
  const model = await loadGgufModel({ llama: runtime, modelPath, spec: modelId });
  const resolvedContextSize = Math.min(contextSize, model.trainContextSize);
  let context: LlamaEmbeddingContext;
  try {
    context = await model.createEmbeddingContext({
      contextSize: resolvedContextSize,
      threads: threads ?? defaultLlamaCppThreads(runtime.cpuMathCores),
    });
  } catch (error) {
    await model.dispose();
    throw new ProviderError(
      `llama.cpp could not create an embedding context for ${modelPath}: ${errorMessage(error)}`,
      {
        code: "LLAMA_CPP_CONTEXT_FAILED",
        retryable: false,
        cause: error,
      },
    );
  }
  // Room for the BOS/EOS tokens llama.cpp may add, and its limit is exclusive.
  const maxInputTokens = Math.max(1, resolvedContextSize - 3);
  let closed = false;
  // The embedding context evaluates one input at a time; chaining keeps concurrent callers in order.
  let queue: Promise<unknown> = Promise.resolve();

  const embedOne = async (text: string): Promise<Float32Array> => {
    let tokens: Token[] = model.tokenize(text);
    if (tokens.length === 0) tokens = model.tokens.bos !== null ? [model.tokens.bos] : model.tokenize(" ");
    if (tokens.length > maxInputTokens) tokens = tokens.slice(0, maxInputTokens);
    const embedding = await context.getEmbeddingFor(tokens);
    return normalise(embedding.vector);
  };

  return {
    modelId,
    defaultDistanceThreshold: distanceThreshold,

    embed(texts, options = {}): Promise<Float32Array[]> {
      const run = async (): Promise<Float32Array[]> => {
        const vectors: Float32Array[] = [];
        for (const text of texts) {
          if (closed) throw new ProviderError(`${modelId} is closed`, { code: "MODEL_CLOSED", retryable: false });
          if (options.signal?.aborted) throw new CancelledError(`${modelId}: embedding cancelled`);
          try {
            vectors.push(await embedOne(text));
          } catch (error) {
            throw new ProviderError(`${modelId}: llama.cpp embedding failed: ${errorMessage(error)}`, {
              retryable: false,
              cause: error,
            });
          }
        }
        return vectors;
      };
      const result = queue.then(run, run);
      queue = result.catch(() => undefined);
      return result;
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await queue;
      await context.dispose();
      await model.dispose();
    },
  };
}

function normalise(vector: readonly number[]): Float32Array {
  let squares = 0;
  for (const value of vector) squares += value * value;
  const scale = squares > 0 ? 1 / Math.sqrt(squares) : 0;
  return Float32Array.from(vector, (value) => value * scale);
}
