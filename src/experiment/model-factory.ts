/**
 * Turns model spec strings into ready-to-use models: the provider for the spec, wrapped in the standard
 * middleware stack (SQLite response cache, usage and budget, retry, load balancing, per-endpoint
 * limits). Secrets (API keys, the Hub token) are passed in as values, never read from the environment
 * here (the CLI reads them) and never logged. One factory per run: the same spec asked twice (agent
 * and observer) gives the same instance, so a GGUF file loads once.
 */
import { resolve } from "node:path";
import { resolveHuggingFaceModelFile } from "../llm/hugging-face-model-file.js";
import { createLexicalEmbedding } from "../llm/lexical-embedding.js";
import { createLlamaCppEmbedding } from "../llm/llama-cpp-embedding.js";
import { createLlamaCppModel } from "../llm/llama-cpp-model.js";
import { createLocalModel } from "../llm/local-model.js";
import type { PriceTable } from "../llm/middleware/price-table.js";
import { createUsageMeter, type UsageMeter } from "../llm/middleware/usage-meter.js";
import { parseEmbeddingSpec, parseModelSpec } from "../llm/model-spec.js";
import { createModelStack } from "../llm/model-stack.js";
import { createOpenAICompatible } from "../llm/openai-compatible.js";
import { createOpenAICompatibleEmbedding } from "../llm/openai-compatible-embedding.js";
import type { EmbeddingModel } from "../spec/embedding-model.js";
import { ModelSpecError } from "../spec/errors.js";
import type { LanguageModel } from "../spec/language-model.js";
import type { Store } from "../store/open-store.js";
import { type HuggingFaceAccess, resolveCheckpointDirectory } from "./checkpoint-directory.js";

/** The OpenAI endpoint used by `openai:<model>` without `@<url>` when OPENAI_BASE_URL is unset. */
export const OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1";

/** Secrets a factory may need; each absent when not configured. Never logged or stored. */
export interface ModelSecrets {
  /** Sent to the OpenAI API (`openai:<model>` without `@<url>`) only. */
  openAiApiKey?: string;
  /** The endpoint of `openai:<model>` without `@<url>`. Default {@link OPENAI_DEFAULT_BASE_URL}. */
  openAiBaseUrl?: string;
  /** Sent to self-hosted OpenAI-compatible servers (`openai:<model>@<url>`) only. */
  serverApiKey?: string;
  huggingFace?: HuggingFaceAccess;
}

/**
 * Where an `openai:` spec's calls go and the bearer key they send. `official`: the spec names no server
 * (`baseURLs` undefined), so the calls go to the OpenAI API (`secrets.openAiBaseUrl`, default
 * {@link OPENAI_DEFAULT_BASE_URL}) with the OpenAI key; otherwise to the named servers with the server
 * key, so the OpenAI key is never sent to other hosts. `apiKey` is undefined when that key is unset or empty.
 */
export function openAiEndpointsOf({
  baseURLs,
  secrets,
}: {
  baseURLs: readonly string[] | undefined;
  secrets: ModelSecrets;
}): { baseURLs: readonly string[]; apiKey: string | undefined; official: boolean } {
  if (baseURLs === undefined) {
    return {
      baseURLs: [secrets.openAiBaseUrl || OPENAI_DEFAULT_BASE_URL],
      apiKey: secrets.openAiApiKey || undefined,
      official: true,
    };
  }
  return { baseURLs, apiKey: secrets.serverApiKey || undefined, official: false };
}

/** Endpoint behaviour of HTTP models (the config file's `endpoints`). */
export interface EndpointSettings {
  /** Calls in flight per endpoint. Default 16. */
  maxConcurrency?: number;
  /** Calls per request at most, first try included. Default 5. */
  maxAttempts?: number;
  /** Per-call timeout in milliseconds. Default 120,000. */
  timeoutMs?: number;
}

/** Options of {@link createModelFactory}. */
export interface ModelFactoryOptions {
  secrets?: ModelSecrets;
  /** Where `hf:` models are downloaded. */
  cacheDirectory: string;
  /** Prices per million tokens by model name, over the built-in table. Default none. */
  prices?: PriceTable;
  endpoints?: EndpointSettings;
  /** Told about non-fatal problems (a model without a price). Default: ignored. */
  warn?: (message: string) => void;
  /** Where responses are cached and usage is recorded. Absent: no cache, usage in memory only. */
  store?: Store;
  /** Spending cap in US dollars over every model of this factory. Default none. */
  budgetUsd?: number;
  /** US dollars already spent toward `budgetUsd` (a resumed run's ledger). Default 0. */
  spentUsd?: number;
  /** Calls in flight per endpoint. Default: `endpoints.maxConcurrency`, else 16 (HTTP) and the llama.cpp sequence count. */
  maxConcurrency?: number;
  /** CPU threads per in-process llama.cpp model. Default: llama.cpp's (physical math cores - 1). */
  llamaThreads?: number;
  /** Parallel sequences per in-process llama.cpp model. Default 4. */
  llamaParallelSequences?: number;
  /**
   * Attention precision of in-process llama.cpp models (`gguf:`, `hf:`): `fast` (default) or `exact`
   * (f32 key/value cache, no flash attention), which scoring uses so scores match `local:` within 1e-3.
   */
  llamaAttention?: "fast" | "exact";
  /** BLAS threads for `local:` models. Default: available cores - 1, at least 1. */
  localThreads?: number;
  /**
   * Makes `scripted:` test doubles; absent (the default), they are refused. Only tests and
   * `--allow-test-models` pass one (the test kit's `createScriptedModel`).
   */
  createTestModel?: (options: { respond: string; modelId: string }) => LanguageModel;
  /** Told about download progress of `hf:` models (bytes). */
  onDownloadProgress?: (progress: { file: string; downloadedBytes: number; totalBytes: number }) => void;
}

/** Creates models from specs; `close()` releases every one it made. */
export interface ModelFactory {
  languageModel(spec: string): Promise<LanguageModel>;
  embeddingModel(spec: string): Promise<EmbeddingModel>;
  /** Counts calls, tokens and cost across every model of this factory. */
  readonly usageMeter: UsageMeter;
  close(): Promise<void>;
}

export function createModelFactory({
  secrets = {},
  cacheDirectory,
  prices,
  endpoints = {},
  warn = () => {},
  store,
  budgetUsd,
  spentUsd = 0,
  maxConcurrency = endpoints.maxConcurrency,
  llamaThreads,
  llamaParallelSequences = 4,
  llamaAttention = "fast",
  localThreads,
  createTestModel,
  onDownloadProgress,
}: ModelFactoryOptions): ModelFactory {
  const usageMeter = createUsageMeter({
    ...(prices === undefined ? {} : { priceTable: prices }),
    ...(budgetUsd === undefined ? {} : { budgetUsd }),
    spentUsd,
    warn,
  });
  if (store) {
    usageMeter.onUsage((entry) => store.recordUsage(entry));
    usageMeter.onRetry((entry) => store.recordRetry(entry));
  }
  const languageModels = new Map<string, Promise<LanguageModel>>();
  const embeddingModels = new Map<string, Promise<EmbeddingModel>>();
  const closers: (() => Promise<void>)[] = [];
  const retry = { maxAttempts: endpoints.maxAttempts ?? 5 };
  const timeoutMs = endpoints.timeoutMs ?? 120_000;

  const ggufPathFor = async (spec: string): Promise<string> => {
    const parsed = parseModelSpec(spec);
    if (parsed.provider === "gguf") return resolve(parsed.path);
    if (parsed.provider === "hf") {
      return resolveHuggingFaceModelFile({
        uri: parsed.uri,
        cacheDirectory,
        ...secrets.huggingFace,
        ...(onDownloadProgress
          ? { onProgress: (progress) => onDownloadProgress({ file: parsed.uri, ...progress }) }
          : {}),
      });
    }
    throw new ModelSpecError(spec, `"${spec}" is not a GGUF model`);
  };

  async function buildProviders(spec: string): Promise<{ replicas: LanguageModel[]; concurrency: number }> {
    const parsed = parseModelSpec(spec);
    switch (parsed.provider) {
      case "openai": {
        const { baseURLs, apiKey, official } = openAiEndpointsOf({ baseURLs: parsed.baseURLs, secrets });
        if (official && !apiKey) {
          throw new ModelSpecError(
            spec,
            `${spec} needs OPENAI_API_KEY in the environment; or name an OpenAI-compatible server: openai:<model>@http://host:port/v1`,
          );
        }
        return {
          replicas: baseURLs.map((baseURL) =>
            createOpenAICompatible({
              baseURL,
              ...(apiKey ? { apiKey } : {}),
              model: parsed.model,
              modelId: spec,
              timeoutMs,
              api: parsed.api,
              // OpenAI API calls are priced by the price table; a self-hosted server's by `prices`, else free.
              ...(official ? {} : { pricePerMillionTokens: prices?.[parsed.model] ?? { prompt: 0, completion: 0 } }),
            }),
          ),
          concurrency: maxConcurrency ?? 16,
        };
      }
      case "gguf":
      case "hf": {
        const model = await createLlamaCppModel({
          modelPath: await ggufPathFor(spec),
          modelId: spec,
          parallelSequences: llamaParallelSequences,
          attention: llamaAttention,
          ...(llamaThreads === undefined ? {} : { threads: llamaThreads }),
        });
        return { replicas: [model], concurrency: llamaParallelSequences };
      }
      case "local":
      case "hf-checkpoint": {
        // Runs on our TypeScript engine; one call at a time per loaded checkpoint.
        const directory =
          parsed.provider === "local"
            ? resolve(parsed.directory)
            : await resolveCheckpointDirectory({
                model: parsed.uri,
                cacheDirectory,
                ...(secrets.huggingFace ? { huggingFace: secrets.huggingFace } : {}),
                ...(onDownloadProgress ? { onProgress: onDownloadProgress } : {}),
              });
        const model = await createLocalModel({
          directory,
          modelId: spec,
          ...(localThreads === undefined ? {} : { threads: localThreads }),
        });
        return { replicas: [model], concurrency: 1 };
      }
      case "scripted":
        if (createTestModel === undefined) {
          throw new ModelSpecError(spec, `${spec}: scripted test models are only accepted with --allow-test-models`);
        }
        return { replicas: [createTestModel({ respond: parsed.answer, modelId: spec })], concurrency: 64 };
    }
  }

  return {
    usageMeter,
    languageModel(spec) {
      let model = languageModels.get(spec);
      if (!model) {
        model = buildProviders(spec).then(({ replicas, concurrency }) => {
          for (const replica of replicas) if (replica.close) closers.push(() => replica.close?.() ?? Promise.resolve());
          return createModelStack({
            replicas,
            modelId: spec,
            usageMeter,
            retry,
            maxConcurrency: concurrency,
            ...(store ? { cacheStore: store.responseCache } : {}),
          }).model;
        });
        languageModels.set(spec, model);
      }
      return model;
    },
    embeddingModel(spec) {
      let model = embeddingModels.get(spec);
      if (!model) {
        model = (async (): Promise<EmbeddingModel> => {
          const parsed = parseEmbeddingSpec(spec);
          if (parsed.provider === "lexical") return createLexicalEmbedding();
          if (parsed.provider === "gguf") {
            const embedder = await createLlamaCppEmbedding({ modelPath: resolve(parsed.path) });
            closers.push(() => embedder.close?.() ?? Promise.resolve());
            return embedder;
          }
          const { baseURLs, apiKey, official } = openAiEndpointsOf({ baseURLs: parsed.baseURLs, secrets });
          if (official && !apiKey) throw new ModelSpecError(spec, `${spec} needs OPENAI_API_KEY in the environment`);
          // The first server only: a spec names at least one.
          const baseURL = baseURLs[0] as string;
          return createOpenAICompatibleEmbedding({ baseURL, ...(apiKey ? { apiKey } : {}), model: parsed.model });
        })();
        embeddingModels.set(spec, model);
      }
      return model;
    },
    async close() {
      const pending = closers.splice(0);
      await Promise.allSettled(pending.map((close) => close()));
    },
  };
}
