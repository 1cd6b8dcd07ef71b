import type { EmbeddingModel } from "../spec/embedding-model.js";
import { ProviderError } from "../spec/errors.js";
import { createJsonClient, type FetchFunction, openAIEndpoint } from "./openai-compatible.js";

/** Options of {@link createOpenAICompatibleEmbedding}. */
export interface OpenAICompatibleEmbeddingOptions {
  /** Server root, as for createOpenAICompatible (a bare origin gets `/v1`). */
  baseURL: string;
  /** Bearer token; absent for local servers. Never logged or echoed in errors. */
  apiKey?: string;
  /** Model name sent to the server, e.g. `text-embedding-3-small`. */
  model: string;
  /** The EmbeddingModel's `modelId`. Default: `model`. */
  modelId?: string;
  /** How requests are sent. Default: node:http(s) with keep-alive, as createOpenAICompatible. */
  fetch?: FetchFunction;
  /** Most texts per request. Default 256. */
  batchSize?: number;
  /** Milliseconds before a request is aborted. Default 120 000. */
  timeoutMs?: number;
  /** Extra request headers. */
  headers?: Readonly<Record<string, string>>;
  /** Cosine distance under which two texts count as similar. Default 0.3 (the reference's ada-002 value). */
  defaultDistanceThreshold?: number;
}

/**
 * Creates an EmbeddingModel over `/v1/embeddings`: one request per `batchSize` texts, sent in turn,
 * vectors returned in input order. Failures are ProviderErrors with the same codes as createOpenAICompatible.
 */
export function createOpenAICompatibleEmbedding({
  baseURL,
  apiKey,
  model,
  modelId = model,
  fetch,
  batchSize = 256,
  timeoutMs = 120_000,
  headers,
  defaultDistanceThreshold = 0.3,
}: OpenAICompatibleEmbeddingOptions): EmbeddingModel {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batchSize must be a whole number >= 1, got ${batchSize}`);
  }
  const endpoint = openAIEndpoint(baseURL, "/embeddings");
  const client = createJsonClient({ apiKey, fetch, timeoutMs, headers });

  async function embedBatch(texts: readonly string[], signal: AbortSignal | undefined): Promise<Float32Array[]> {
    const { json, status, requestId, bodyText } = await client.postJson(endpoint, { model, input: texts }, signal);
    const data = json.data;
    const fail = (problem: string): ProviderError =>
      new ProviderError(
        `${endpoint} answered HTTP ${status} but ${problem}; body starts ${JSON.stringify(client.redact(bodyText).slice(0, 200))}`,
        { code: "PROVIDER_BAD_RESPONSE", status, retryable: false, endpoint, ...(requestId ? { requestId } : {}) },
      );
    if (!Array.isArray(data)) throw fail("it has no data array");
    if (data.length !== texts.length) throw fail(`it holds ${data.length} vectors for ${texts.length} texts`);
    const vectors = new Array<Float32Array | undefined>(texts.length);
    data.forEach((item: unknown, position: number) => {
      const entry = item as { index?: unknown; embedding?: unknown };
      const index = typeof entry.index === "number" ? entry.index : position;
      if (!Array.isArray(entry.embedding) || index < 0 || index >= texts.length) {
        throw fail(`data[${position}] is not an embedding of one of the texts`);
      }
      vectors[index] = Float32Array.from(entry.embedding as number[]);
    });
    if (vectors.some((vector) => vector === undefined)) throw fail("some texts got no vector");
    return vectors as Float32Array[];
  }

  return {
    modelId,
    defaultDistanceThreshold,
    async embed(texts, options = {}) {
      // Batches go one after another: a huge input must not become a burst that trips rate limits.
      const vectors: Float32Array[] = [];
      for (let start = 0; start < texts.length; start += batchSize) {
        vectors.push(...(await embedBatch(texts.slice(start, start + batchSize), options.signal)));
      }
      return vectors;
    },
  };
}
