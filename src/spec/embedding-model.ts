/** Text embeddings, used by agent memory retrieval (SPEC 1.4). */
export interface EmbeddingModel {
  /** The spec string or name; part of cache keys and records. */
  readonly modelId: string;
  /**
   * Cosine distance below which a stored question counts as "similar" for retrieval. The reference
   * tuned 0.3 for OpenAI ada-002; each embedder documents its own.
   */
  readonly defaultDistanceThreshold: number;
  /** Embeds a batch of texts in one request where the backend allows; one vector per text, in order. */
  embed(texts: readonly string[], options?: { signal?: AbortSignal }): Promise<Float32Array[]>;
  close?(): Promise<void>;
}
