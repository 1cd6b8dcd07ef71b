/**
 * Embeddings for memory: texts are embedded in batches (one request per `batchSize` texts, never one
 * per text), and every vector is kept in the run's database so a resumed run never asks again and a
 * remote embedder's answers cannot drift between the two halves of a run.
 */
import type { EmbeddingModel } from "../spec/embedding-model.js";
import type { SimulationRepository } from "../store/simulation-repository.js";

/** Embeddings of `texts` (deduplicated), from the store where present, else from the embedder in batches. */
export async function embedTexts({
  embedder,
  texts,
  repository,
  batchSize = 256,
  signal,
}: {
  embedder: EmbeddingModel;
  texts: readonly string[];
  repository: SimulationRepository;
  /** Texts per embedder request. Default 256. */
  batchSize?: number;
  signal?: AbortSignal;
}): Promise<Map<string, Float32Array>> {
  const unique = [...new Set(texts)];
  const found = repository.findEmbeddings(embedder.modelId, unique);
  const missing = unique.filter((text) => !found.has(text));
  for (let start = 0; start < missing.length; start += batchSize) {
    const batch = missing.slice(start, start + batchSize);
    const vectors = await embedder.embed(batch, signal === undefined ? undefined : { signal });
    if (vectors.length !== batch.length) {
      throw new RangeError(`embedder ${embedder.modelId} returned ${vectors.length} vectors for ${batch.length} texts`);
    }
    const entries = batch.map((text, index) => ({ text, vector: vectors[index] as Float32Array }));
    repository.saveEmbeddings(embedder.modelId, entries);
    for (const { text, vector } of entries) found.set(text, vector);
  }
  return found;
}
