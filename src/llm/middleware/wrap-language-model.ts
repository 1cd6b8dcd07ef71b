import type {
  GenerateRequest,
  GenerateResult,
  LanguageModel,
  LanguageModelMiddleware,
} from "../../spec/language-model.js";

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

/**
 * A model identical to `model` except for `generate`: what every middleware returns. Keeps identity,
 * capabilities, price, `countPromptTokens` and `close`, so layers stay transparent to callers.
 */
export function withGenerate(
  model: LanguageModel,
  generate: (request: GenerateRequest) => Promise<GenerateResult>,
): LanguageModel {
  const wrapped: LanguageModel = {
    provider: model.provider,
    modelId: model.modelId,
    capabilities: model.capabilities,
    generate,
  };
  return {
    ...wrapped,
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
