/**
 * The CLI's model factory: the library's {@link createLibraryModelFactory} given the secrets this
 * process's environment holds (OPENAI_API_KEY, OPENAI_BASE_URL, STABLE_ALIGNMENT_API_KEY, HF_ENDPOINT,
 * HF_TOKEN; never logged) and the config file's prices, endpoints and budget.
 */
import {
  createModelFactory as createLibraryModelFactory,
  type ModelFactoryOptions as LibraryModelFactoryOptions,
  type ModelFactory,
  type ModelSecrets,
} from "../experiment/model-factory.js";
import { createScriptedModel } from "../test-kit/scripted-model.js";
import { huggingFaceAccess } from "./checkpoint-source.js";
import type { CliContext } from "./cli-context.js";

export { type ModelFactory, OPENAI_DEFAULT_BASE_URL } from "../experiment/model-factory.js";

/** Options of {@link createModelFactory}: the library's, with the context in place of secrets and settings. */
export type ModelFactoryOptions = Omit<
  LibraryModelFactoryOptions,
  "secrets" | "cacheDirectory" | "prices" | "endpoints" | "warn" | "createTestModel"
> & {
  context: CliContext;
  /** Accept `scripted:` test doubles. Only tests and `--allow-test-models` set this. Default false. */
  allowTestModels?: boolean;
};

/** The secrets of the environment, for factories and the experiment runner. */
export function modelSecrets(context: CliContext): ModelSecrets {
  const { OPENAI_API_KEY, OPENAI_BASE_URL, STABLE_ALIGNMENT_API_KEY } = context.environment;
  return {
    ...(OPENAI_API_KEY ? { openAiApiKey: OPENAI_API_KEY } : {}),
    ...(OPENAI_BASE_URL ? { openAiBaseUrl: OPENAI_BASE_URL } : {}),
    ...(STABLE_ALIGNMENT_API_KEY ? { serverApiKey: STABLE_ALIGNMENT_API_KEY } : {}),
    huggingFace: huggingFaceAccess(context),
  };
}

/** The library options every command shares: secrets, cache, prices, endpoints, warnings, test models. */
export function modelFactorySettings(
  context: CliContext,
  { allowTestModels = false }: { allowTestModels?: boolean } = {},
): Pick<
  LibraryModelFactoryOptions,
  "secrets" | "cacheDirectory" | "prices" | "endpoints" | "warn" | "createTestModel"
> {
  return {
    secrets: modelSecrets(context),
    cacheDirectory: context.cacheDirectory,
    ...(context.config.prices === undefined ? {} : { prices: context.config.prices }),
    ...(context.config.endpoints === undefined ? {} : { endpoints: context.config.endpoints }),
    warn: (message) => context.stderr.write(`warning: ${message}\n`),
    ...(allowTestModels ? { createTestModel: createScriptedModel } : {}),
  };
}

export function createModelFactory({
  context,
  allowTestModels = false,
  budgetUsd = context.config.budgetUsd,
  ...rest
}: ModelFactoryOptions): ModelFactory {
  return createLibraryModelFactory({
    ...modelFactorySettings(context, { allowTestModels }),
    ...(budgetUsd === undefined ? {} : { budgetUsd }),
    ...rest,
  });
}
