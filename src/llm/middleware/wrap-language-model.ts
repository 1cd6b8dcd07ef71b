import type {
  GenerateRequest,
  GenerateResult,
  LanguageModel,
  LanguageModelMiddleware,
} from "../../spec/language-model.js";
import type { ScoreRequest, ScoreResult } from "../../spec/scoring.js";

/**
 * Applies middleware to a model. With an array, the first entry is the outermost layer: it sees each
 * request first and each result last (`[cache, retry]` checks the cache before retrying).
 */
export function wrapLanguageModel({
  model,
  middleware,
}: {
  model: LanguageModel;
  middleware: LanguageModelMiddleware | readonly LanguageModelMiddleware[];
}): LanguageModel {
  const layers = typeof middleware === "function" ? [middleware] : middleware;
  let wrapped = model;
  for (let index = layers.length - 1; index >= 0; index -= 1) {
    const layer = layers[index];
    if (layer !== undefined) wrapped = layer(wrapped);
  }
  return wrapped;
}

/** The calls a middleware layer replaces: `generate`, and `score` when the inner model scores. */
export interface ModelCalls {
  generate: (request: GenerateRequest) => Promise<GenerateResult>;
  /** Used only when the inner model has `score`; otherwise the wrapped model has none either. */
  score?: (request: ScoreRequest) => Promise<ScoreResult>;
}

/**
 * A model identical to `model` except for its calls: what every middleware returns. Keeps identity,
 * capabilities, price, `countPromptTokens` and `close`, so layers stay transparent to callers. `score`
 * is present exactly when the inner model has it (a layer that passes no `score` of its own forwards
 * the inner one unchanged), so a model that cannot score still says so after any number of layers.
 */
export function withCalls(model: LanguageModel, { generate, score }: ModelCalls): LanguageModel {
  const wrapped: LanguageModel = {
    provider: model.provider,
    modelId: model.modelId,
    capabilities: model.capabilities,
    generate,
  };
  const innerScore = model.score;
  return {
    ...wrapped,
    ...(innerScore === undefined
      ? {}
      : { score: score ?? ((request: ScoreRequest) => innerScore.call(model, request)) }),
    ...(model.pricePerMillionTokens === undefined ? {} : { pricePerMillionTokens: model.pricePerMillionTokens }),
    ...(model.countPromptTokens === undefined
      ? {}
      : {
          countPromptTokens: (request: GenerateRequest) =>
            (model.countPromptTokens as (request: GenerateRequest) => number).call(model, request),
        }),
    ...(model.close === undefined ? {} : { close: () => (model.close as () => Promise<void>).call(model) }),
  };
}
