/**
 * Embeddings for memory: texts are embedded in batches (one request per `batchSize` texts, never one
 * per text), and every vector is kept in the run's database so a resumed run never asks again and a
 * remote embedder's answers cannot drift between the two halves of a run.
 */
import { toUnitVector, type UnitVector } from "../llm/cosine-distance.js";
import type { EmbeddingModel } from "../spec/embedding-model.js";
import type { SimulationRepository } from "../store/simulation-repository.js";

/** Options of {@link embedUnitVectors}. */
export interface EmbedTextsOptions {
  embedder: EmbeddingModel;
  texts: readonly string[];
  repository: SimulationRepository;
  /** Texts per embedder request (and per store lookup). Default 256. */
  batchSize?: number;
  signal?: AbortSignal;
}

/**
 * Unit vectors (`toUnitVector`: sparse when mostly zeros) of `texts` (deduplicated), from the store where
 * present, else from the embedder in batches; converted batch by batch, so 10,000 texts of a 4,096-wide
 * lexical embedder hold kilobytes, not 160 MB.
 */
export async function embedUnitVectors({
  embedder,
  texts,
  repository,
  batchSize = 256,
  signal,
}: EmbedTextsOptions): Promise<Map<string, UnitVector>> {
  const unique = [...new Set(texts)];
  const result = new Map<string, UnitVector>();
  // Chunk by chunk, so only one chunk of dense vectors is alive at a time; the missing texts go to the
  // embedder in batches of `batchSize` as before.
  const missing: string[] = [];
  for (let start = 0; start < unique.length; start += batchSize) {
    const chunk = unique.slice(start, start + batchSize);
    const found = repository.findEmbeddings(embedder.modelId, chunk);
    for (const text of chunk) {
      const vector = found.get(text);
      if (vector === undefined) missing.push(text);
      else result.set(text, toUnitVector(vector));
    }
  }
  for (let start = 0; start < missing.length; start += batchSize) {
    const batch = missing.slice(start, start + batchSize);
    const vectors = await embedder.embed(batch, signal === undefined ? undefined : { signal });
    if (vectors.length !== batch.length) {
      throw new RangeError(`embedder ${embedder.modelId} returned ${vectors.length} vectors for ${batch.length} texts`);
    }
    const entries = batch.map((text, index) => ({ text, vector: vectors[index] as Float32Array }));
    repository.saveEmbeddings(embedder.modelId, entries);
    for (const { text, vector } of entries) result.set(text, toUnitVector(vector));
  }
  return result;
}
