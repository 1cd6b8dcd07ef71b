/**
 * Turns model spec strings into ready-to-use models: the provider for the spec, wrapped in the standard
 * middleware stack (SQLite response cache, usage and budget, retry, load balancing, per-endpoint
 * limits). The only place that reads API keys from the environment. One factory per command run: the
 * same spec asked twice (agent and observer) gives the same instance, so a GGUF file loads once.
 */
import { resolve } from "node:path";
import { resolveHuggingFaceModelFile } from "../llm/hugging-face-model-file.js";
import { createLexicalEmbedding } from "../llm/lexical-embedding.js";
import { createLlamaCppEmbedding } from "../llm/llama-cpp-embedding.js";
import { createLlamaCppModel } from "../llm/llama-cpp-model.js";
import { createLocalModel } from "../llm/local-model.js";
import { createUsageMeter, type UsageMeter } from "../llm/middleware/usage-meter.js";
import { parseEmbeddingSpec, parseModelSpec } from "../llm/model-spec.js";
import { createModelStack } from "../llm/model-stack.js";
import { createOpenAICompatible } from "../llm/openai-compatible.js";
import { createOpenAICompatibleEmbedding } from "../llm/openai-compatible-embedding.js";
import type { EmbeddingModel } from "../spec/embedding-model.js";
import { ModelSpecError } from "../spec/errors.js";
import type { LanguageModel } from "../spec/language-model.js";
import type { Store } from "../store/open-store.js";
import { createScriptedModel } from "../test-kit/scripted-model.js";
import { huggingFaceAccess, resolveCheckpointDirectory } from "./checkpoint-source.js";
import type { CliContext } from "./cli-context.js";

/** The OpenAI endpoint used by `openai:<model>` without `@<url>` when OPENAI_BASE_URL is unset. */
export const OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1";

/** Options of {@link createModelFactory}. */
export interface ModelFactoryOptions {
  context: CliContext;
  /** Where responses are cached and usage is recorded. Absent: no cache, usage in memory only. */
  store?: Store;
  /** Spending cap in US dollars over every model of this factory. Default: the config's, else none. */
  budgetUsd?: number;
  /** US dollars already spent toward `budgetUsd` (a resumed run's ledger). Default 0. */
  spentUsd?: number;
  /** Calls in flight per endpoint. Default: the config's `endpoints.maxConcurrency`, else 16 (HTTP) and the llama.cpp sequence count. */
  maxConcurrency?: number;
  /** Parallel sequences per in-process llama.cpp model. Default 4. */
  llamaParallelSequences?: number;
  /**
   * Attention precision of in-process llama.cpp models (`gguf:`, `hf:`): `fast` (default) or `exact`
   * (f32 key/value cache, no flash attention), which scoring uses so scores match `local:` within 1e-3.
   */
  llamaAttention?: "fast" | "exact";
  /** BLAS threads for `local:` models. Default: available cores - 1, at least 1. */
  localThreads?: number;
  /** Accept `scripted:` test doubles. Only tests and `--allow-test-models` set this. Default false. */
  allowTestModels?: boolean;
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
  context,
  store,
  budgetUsd = context.config.budgetUsd,
  spentUsd = 0,
  maxConcurrency = context.config.endpoints?.maxConcurrency,
  llamaParallelSequences = 4,
  llamaAttention = "fast",
  localThreads,
  allowTestModels = false,
  onDownloadProgress,
}: ModelFactoryOptions): ModelFactory {
  const environment = context.environment;
  const usageMeter = createUsageMeter({
    priceTable: context.config.prices,
    ...(budgetUsd === undefined ? {} : { budgetUsd }),
    spentUsd,
    warn: (message) => context.stderr.write(`warning: ${message}\n`),
  });
  if (store) {
    usageMeter.onUsage((entry) => store.recordUsage(entry));
    usageMeter.onRetry((entry) => store.recordRetry(entry));
  }
  const languageModels = new Map<string, Promise<LanguageModel>>();
  const embeddingModels = new Map<string, Promise<EmbeddingModel>>();
  const closers: (() => Promise<void>)[] = [];
  const retry = { maxAttempts: context.config.endpoints?.maxAttempts ?? 5 };
  const timeoutMs = context.config.endpoints?.timeoutMs ?? 120_000;

  const ggufPathFor = async (spec: string): Promise<string> => {
    const parsed = parseModelSpec(spec);
    if (parsed.provider === "gguf") return resolve(parsed.path);
    if (parsed.provider === "hf") {
      return resolveHuggingFaceModelFile({
        uri: parsed.uri,
        cacheDirectory: context.cacheDirectory,
        ...huggingFaceAccess(context),
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
        if (parsed.baseURLs === undefined) {
          const apiKey = environment.OPENAI_API_KEY;
          if (!apiKey) {
            throw new ModelSpecError(
              spec,
              `${spec} needs OPENAI_API_KEY in the environment; or name an OpenAI-compatible server: openai:<model>@http://host:port/v1`,
            );
          }
          const baseURL = environment.OPENAI_BASE_URL || OPENAI_DEFAULT_BASE_URL;
          return {
            replicas: [
              createOpenAICompatible({
                baseURL,
                apiKey,
                model: parsed.model,
                modelId: spec,
                timeoutMs,
                api: parsed.api,
              }),
            ],
            concurrency: maxConcurrency ?? 16,
          };
        }
        // The OpenAI key is never sent to other hosts; a self-hosted server that wants one gets its own.
        const apiKey = environment.STABLE_ALIGNMENT_API_KEY || undefined;
        return {
          replicas: parsed.baseURLs.map((baseURL) =>
            createOpenAICompatible({
              baseURL,
              ...(apiKey ? { apiKey } : {}),
              model: parsed.model,
              modelId: spec,
              timeoutMs,
              api: parsed.api,
              pricePerMillionTokens: context.config.prices?.[parsed.model] ?? { prompt: 0, completion: 0 },
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
                context,
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
        if (!allowTestModels) {
          throw new ModelSpecError(spec, `${spec}: scripted test models are only accepted with --allow-test-models`);
        }
        return { replicas: [createScriptedModel({ respond: parsed.answer, modelId: spec })], concurrency: 64 };
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
          const baseURL = parsed.baseURLs?.[0] ?? (environment.OPENAI_BASE_URL || OPENAI_DEFAULT_BASE_URL);
          const apiKey =
            parsed.baseURLs === undefined ? environment.OPENAI_API_KEY : environment.STABLE_ALIGNMENT_API_KEY;
          if (parsed.baseURLs === undefined && !apiKey) {
            throw new ModelSpecError(spec, `${spec} needs OPENAI_API_KEY in the environment`);
          }
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
