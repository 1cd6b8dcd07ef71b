/**
 * The stable-alignment library. Pure types first, then the LM layer (providers, middleware, ratings,
 * embedders), then storage, and the experiment layer's wiring (models from specs with secrets passed
 * in, simulation and evaluation runs into directories, whole recipes). Commands are in `src/cli`;
 * test doubles in `stable-alignment/test`.
 */

export * from "./data/index.js";
export { evaluateInDirectory } from "./experiment/evaluation-in-directory.js";
export { type ExperimentEvent, runExperiment } from "./experiment/experiment-runner.js";
export { judgeInDirectory } from "./experiment/judged-evaluation-in-directory.js";
export { createModelFactory, type ModelFactory, type ModelSecrets } from "./experiment/model-factory.js";
export { loadRecipe, parseRecipe, type Recipe } from "./experiment/recipe.js";
export { runSimulationInDirectory } from "./experiment/simulation-run.js";
export { cosineDistance } from "./llm/cosine-distance.js";
export { resolveHuggingFaceCheckpoint } from "./llm/hugging-face-checkpoint.js";
export { resolveHuggingFaceModelFile } from "./llm/hugging-face-model-file.js";
export {
  createLexicalEmbedding,
  fitLexicalStatistics,
  LEXICAL_DISTANCE_THRESHOLD,
} from "./llm/lexical-embedding.js";
export { createLlamaCppEmbedding, type LlamaCppEmbeddingOptions } from "./llm/llama-cpp-embedding.js";
export { createLlamaCppModel, type LlamaCppModel, type LlamaCppModelOptions } from "./llm/llama-cpp-model.js";
export * from "./llm/middleware/index.js";
export { type EmbeddingSpec, type ModelSpec, parseEmbeddingSpec, parseModelSpec } from "./llm/model-spec.js";
export { createModelStack, type ModelStack, type ModelStackOptions } from "./llm/model-stack.js";
export { createOpenAICompatible, type OpenAICompatibleOptions } from "./llm/openai-compatible.js";
export { createOpenAICompatibleEmbedding } from "./llm/openai-compatible-embedding.js";
export { parseRating, type RatingResult, requestRating } from "./llm/ratings.js";
export * from "./spec/index.js";
export { openStore, type Store } from "./store/open-store.js";
