import { createHash } from "node:crypto";
import type { EmbeddingModel } from "../spec/embedding-model.js";

/**
 * Cosine distance under which two questions count as similar for the lexical embedder (default
 * statistics). Measured on HH-RLHF questions: rewordings that keep the content words sit at 0.01-0.19
 * ("How do I make a bomb?" / "How can I make a bomb at home?" 0.19), the same frame with another
 * object above 0.48 ("... a bomb?" / "... a cake?"), and the median nearest neighbour within 1,000 pool
 * questions at 0.64. 0.4 keeps rewordings and rejects look-alikes.
 */
export const LEXICAL_DISTANCE_THRESHOLD = 0.4;

const STOP_WORDS = new Set(
  (
    "a an the and or but if of to in on at by for with from as is are was were be been being am do does did " +
    "i me my you your he she it its we our they them their this that these those there here what which who whom " +
    "how can could would should will shall may might must have has had not no so than then too very just also " +
    "about into over under up down out off again any some all each other such only own same s t don now"
  ).split(" "),
);

/** Splits text into lower-case word tokens (letters and digits, Unicode aware). */
export function lexicalTokens(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/**
 * Inverse document frequencies fitted on a corpus (e.g. the run's question pool), so that words every
 * question shares weigh little. Deterministic: the same corpus gives the same weights.
 */
export interface LexicalVocabularyStatistics {
  documentCount: number;
  documentFrequency: ReadonlyMap<string, number>;
}

/** Counts, for each token, how many texts of the corpus contain it. */
export function fitLexicalStatistics(corpus: Iterable<string>): LexicalVocabularyStatistics {
  const documentFrequency = new Map<string, number>();
  let documentCount = 0;
  for (const text of corpus) {
    documentCount += 1;
    for (const token of new Set(lexicalTokens(text))) {
      documentFrequency.set(token, (documentFrequency.get(token) ?? 0) + 1);
    }
  }
  return { documentCount, documentFrequency };
}

/**
 * The built-in offline embedder: hashed TF-IDF over word unigrams and bigrams, L2-normalised, no model
 * and no network. Without fitted statistics, stop words weigh 0.1 and other words 1; with them, the
 * smoothed IDF `ln((1 + N) / (1 + df)) + 1` is used. `dimensions` (default 4096) hash buckets; a
 * bucket's sign comes from the hash too, so collisions cancel rather than add up.
 */
export function createLexicalEmbedding({
  dimensions = 4096,
  statistics,
}: {
  dimensions?: number;
  statistics?: LexicalVocabularyStatistics;
} = {}): EmbeddingModel {
  const bucketCache = new Map<string, number>();
  const bucketOf = (feature: string): number => {
    let bucket = bucketCache.get(feature);
    if (bucket === undefined) {
      const digest = createHash("sha1").update(feature).digest();
      const hash = digest.readUInt32LE(0);
      const index = hash % dimensions;
      bucket = (digest[4] ?? 0) & 1 ? index + 1 : -(index + 1);
      if (bucketCache.size < 200_000) bucketCache.set(feature, bucket);
    }
    return bucket;
  };
  const weightOf = (token: string): number => {
    if (statistics === undefined) return STOP_WORDS.has(token) ? 0.1 : 1;
    const frequency = statistics.documentFrequency.get(token) ?? 0;
    return Math.log((1 + statistics.documentCount) / (1 + frequency)) + 1;
  };

  const embedOne = (text: string): Float32Array => {
    const tokens = lexicalTokens(text);
    const counts = new Map<string, { count: number; weight: number }>();
    const add = (feature: string, weight: number) => {
      const entry = counts.get(feature);
      if (entry) entry.count += 1;
      else counts.set(feature, { count: 1, weight });
    };
    for (let index = 0; index < tokens.length; index++) {
      const token = tokens[index] as string;
      add(token, weightOf(token));
      const next = tokens[index + 1];
      // Bigrams weigh half their rarer word: they separate "kill time" from "kill people".
      if (next !== undefined) add(`${token} ${next}`, 0.5 * Math.min(weightOf(token), weightOf(next)));
    }
    const vector = new Float32Array(dimensions);
    const touched: number[] = [];
    for (const [feature, { count, weight }] of counts) {
      const bucket = bucketOf(feature);
      const value = (1 + Math.log(count)) * weight;
      const index = Math.abs(bucket) - 1;
      touched.push(index);
      vector[index] = (vector[index] ?? 0) + (bucket > 0 ? value : -value);
    }
    // Only the touched buckets are non-zero; summed in index order, the norm is the one a pass over all
    // `dimensions` values gives, bit for bit (adding 0 changes nothing).
    touched.sort((left, right) => left - right);
    let norm = 0;
    let previous = -1;
    for (const index of touched) {
      if (index === previous) continue;
      previous = index;
      const value = vector[index] as number;
      norm += value * value;
    }
    if (norm > 0) {
      const scale = 1 / Math.sqrt(norm);
      previous = -1;
      for (const index of touched) {
        if (index === previous) continue;
        previous = index;
        vector[index] = (vector[index] as number) * scale;
      }
    }
    return vector;
  };

  return {
    modelId: "lexical",
    defaultDistanceThreshold: LEXICAL_DISTANCE_THRESHOLD,
    async embed(texts) {
      return texts.map(embedOne);
    },
  };
}
