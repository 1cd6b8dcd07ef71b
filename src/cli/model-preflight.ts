/**
 * Checks that the models a command names can be built, without loading or calling any of them, so a
 * command refuses before it writes anything: `gguf:` files and `local:` directories exist, `openai:`
 * models without `@<url>` have OPENAI_API_KEY, `scripted:` models are allowed. `hf:` models are
 * downloaded (or found in the cache) separately, also before anything is written.
 */
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { parseEmbeddingSpec, parseModelSpec } from "../llm/model-spec.js";
import { ModelSpecError } from "../spec/errors.js";

/** Options of {@link checkModelsUsable}. */
export interface ModelPreflightOptions {
  /** Language model specs (agents, observer). */
  specs: readonly string[];
  /** Embedding spec, if the command uses one. Default none. */
  embedder?: string;
  /** The environment the model factory will read keys from. */
  environment: NodeJS.ProcessEnv;
  /** Whether `scripted:` test models are accepted. Default false. */
  allowTestModels?: boolean;
}

/** Throws ModelSpecError naming the first spec that cannot be built and why. */
export function checkModelsUsable({
  specs,
  embedder,
  environment,
  allowTestModels = false,
}: ModelPreflightOptions): void {
  for (const spec of new Set(specs)) {
    const parsed = parseModelSpec(spec);
    switch (parsed.provider) {
      case "openai":
        if (parsed.baseURLs === undefined) requireOpenAIKey(spec, environment);
        break;
      case "gguf":
        requirePath(spec, parsed.path, "file");
        break;
      case "local":
        requirePath(spec, parsed.directory, "directory");
        break;
      case "scripted":
        if (!allowTestModels) {
          throw new ModelSpecError(spec, `${spec}: scripted test models are only accepted with --allow-test-models`);
        }
        break;
      case "hf":
      case "hf-checkpoint":
        break;
    }
  }
  if (embedder === undefined) return;
  const parsed = parseEmbeddingSpec(embedder);
  if (parsed.provider === "gguf") requirePath(embedder, parsed.path, "file");
  if (parsed.provider === "openai" && parsed.baseURLs === undefined) requireOpenAIKey(embedder, environment);
}

function requireOpenAIKey(spec: string, environment: NodeJS.ProcessEnv): void {
  if (environment.OPENAI_API_KEY) return;
  throw new ModelSpecError(
    spec,
    `${spec} needs OPENAI_API_KEY in the environment; or name an OpenAI-compatible server: openai:<model>@http://host:port/v1`,
  );
}

function requirePath(spec: string, path: string, kind: "file" | "directory"): void {
  const absolute = resolve(path);
  const found = existsSync(absolute) ? statSync(absolute) : undefined;
  if (found === undefined) throw new ModelSpecError(spec, `${spec}: no such ${kind} ${absolute}`);
  if (kind === "file" ? !found.isFile() : !found.isDirectory()) {
    throw new ModelSpecError(spec, `${spec}: ${absolute} is not a ${kind}`);
  }
}
