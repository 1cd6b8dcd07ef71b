import { ModelSpecError } from "../spec/errors.js";

/**
 * A parsed model spec string. Every command takes models as such strings:
 * - `openai:<model>`: OpenAI (OPENAI_API_KEY, optional OPENAI_BASE_URL);
 * - `openai:<model>@<baseURL>[,<baseURL>...]`: any OpenAI-compatible server; several URLs are
 *   load-balanced replicas; no key needed;
 * - `openai-completion:<model>[@<baseURL>...]`: the same servers through `/v1/completions`, for base
 *   (non-chat) models: plain text in, its continuation out (`api: "completion"`);
 * - `gguf:<path>`: a local GGUF file run in process by llama.cpp;
 * - `hf:<owner>/<repo>/<file>.gguf`: a GGUF on Hugging Face, downloaded once into the cache;
 * - `hf:<owner>/<repo>[@revision]`: a Hugging Face checkpoint (config.json, safetensors, tokenizer),
 *   downloaded once into the cache and run on the toolkit's engine like `local:`; `local:hf:...` is
 *   the same;
 * - `local:<dir>`: a checkpoint directory (Hugging Face layout, e.g. trained by this toolkit), or a LoRA
 *   adapter directory in PEFT's layout whose adapter_config.json names its base directory;
 * - `scripted:<text>`: a test double answering `<text>`, accepted only when tests enable it.
 */
export type ModelSpec =
  | {
      provider: "openai";
      model: string;
      baseURLs: string[] | undefined;
      /** `chat` (`openai:`, `/v1/chat/completions`) or `completion` (`openai-completion:`, `/v1/completions`). */
      api: "chat" | "completion";
      spec: string;
    }
  | { provider: "gguf"; path: string; spec: string }
  | { provider: "hf"; uri: string; owner: string; repository: string; file: string; spec: string }
  | {
      provider: "hf-checkpoint";
      /** `hf:<owner>/<repo>[@revision]`. */
      uri: string;
      owner: string;
      repository: string;
      /** Branch, tag or commit; undefined means `main`. */
      revision: string | undefined;
      spec: string;
    }
  | { provider: "local"; directory: string; spec: string }
  | { provider: "scripted"; answer: string; spec: string };

const PROVIDERS = ["openai", "openai-completion", "gguf", "hf", "local"] as const;
const EXAMPLES =
  "openai:gpt-4o-mini, openai:llama3@http://127.0.0.1:8000/v1, gguf:./model.gguf, hf:owner/repo/file.gguf, hf:owner/repo[@revision], local:./checkpoint";

/** Parses a model spec string; throws ModelSpecError naming the problem and the accepted forms. */
export function parseModelSpec(spec: string): ModelSpec {
  const colon = spec.indexOf(":");
  if (colon <= 0) {
    throw new ModelSpecError(spec, `model spec "${spec}" has no provider prefix; use one of: ${EXAMPLES}`);
  }
  const provider = spec.slice(0, colon);
  const rest = spec.slice(colon + 1).trim();
  if (rest === "") throw new ModelSpecError(spec, `model spec "${spec}" names no model after "${provider}:"`);
  switch (provider) {
    case "openai":
      return parseOpenAISpec({ spec, rest, api: "chat" });
    case "openai-completion":
      return parseOpenAISpec({ spec, rest, api: "completion" });
    case "gguf":
      return { provider, path: rest, spec };
    case "hf":
      return parseHuggingFaceSpec(spec, rest);
    case "local": {
      if (!rest.startsWith("hf:")) return { provider, directory: rest, spec };
      const checkpoint = parseHuggingFaceSpec(spec, rest.slice("hf:".length));
      if (checkpoint.provider !== "hf-checkpoint") {
        throw new ModelSpecError(
          spec,
          `model spec "${spec}": local: takes a checkpoint (hf:<owner>/<repo>[@revision]); run a GGUF file as ${rest}`,
        );
      }
      return checkpoint;
    }
    case "scripted":
      return { provider, answer: rest, spec };
    default:
      throw new ModelSpecError(
        spec,
        `unknown model provider "${provider}" in "${spec}"; known providers: ${PROVIDERS.join(", ")} (e.g. ${EXAMPLES})`,
      );
  }
}

function parseOpenAISpec({ spec, rest, api }: { spec: string; rest: string; api: "chat" | "completion" }): ModelSpec {
  const at = rest.indexOf("@");
  if (at < 0) return { provider: "openai", model: rest, baseURLs: undefined, api, spec };
  const model = rest.slice(0, at).trim();
  if (model === "") throw new ModelSpecError(spec, `model spec "${spec}" names no model before "@"`);
  const baseURLs = rest
    .slice(at + 1)
    .split(",")
    .map((url) => url.trim());
  for (const url of baseURLs) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ModelSpecError(
        spec,
        `"${url}" in model spec "${spec}" is not a URL; write e.g. http://127.0.0.1:8000/v1`,
      );
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      throw new ModelSpecError(spec, `"${url}" in model spec "${spec}" must start with http:// or https://`);
    }
    if (parsed.username !== "" || parsed.password !== "") {
      throw new ModelSpecError(spec, `model spec "${spec}" must not carry credentials in the URL; set OPENAI_API_KEY`);
    }
  }
  return { provider: "openai", model, baseURLs: baseURLs.map((url) => url.replace(/\/+$/, "")), api, spec };
}

function parseHuggingFaceSpec(spec: string, rest: string): ModelSpec {
  const at = rest.indexOf("@");
  const path = at < 0 ? rest : rest.slice(0, at);
  const parts = path.split("/");
  const [owner, repository, ...fileParts] = parts;
  const file = fileParts.join("/");
  const shapes = "hf:<owner>/<repo>/<file>.gguf (a GGUF file) or hf:<owner>/<repo>[@revision] (a checkpoint)";
  if (owner === undefined || repository === undefined || owner === "" || repository === "") {
    throw new ModelSpecError(spec, `model spec "${spec}" must look like ${shapes}`);
  }
  if (file === "") {
    const revision = at < 0 ? undefined : rest.slice(at + 1);
    if (revision === "") throw new ModelSpecError(spec, `model spec "${spec}" names no revision after "@"`);
    const source = { owner, repository, revision };
    checkHuggingFaceCheckpointSource({ ...source, spec });
    return { provider: "hf-checkpoint", uri: huggingFaceCheckpointUri(source), ...source, spec };
  }
  if (at >= 0) {
    throw new ModelSpecError(spec, `model spec "${spec}": a revision (@) applies to checkpoints: ${shapes}`);
  }
  if (!file.toLowerCase().endsWith(".gguf")) {
    throw new ModelSpecError(spec, `model spec "${spec}" must name a .gguf file inside the repository`);
  }
  return { provider: "hf", uri: `hf:${rest}`, owner, repository, file, spec };
}

/** A parsed embedding spec: `lexical` (built in, offline), `openai:<model>[@url]`, or `gguf:<path>`. */
export type EmbeddingSpec =
  | { provider: "lexical"; spec: string }
  | {
      provider: "openai";
      model: string;
      baseURLs: string[] | undefined;
      /** `chat` (`openai:`, `/v1/chat/completions`) or `completion` (`openai-completion:`, `/v1/completions`). */
      api: "chat" | "completion";
      spec: string;
    }
  | { provider: "gguf"; path: string; spec: string };

/** Parses an embedding spec string; throws ModelSpecError on anything else. */
export function parseEmbeddingSpec(spec: string): EmbeddingSpec {
  if (spec === "lexical") return { provider: "lexical", spec };
  const parsed = parseModelSpec(spec);
  if ((parsed.provider === "openai" && parsed.api === "chat") || parsed.provider === "gguf") return parsed;
  throw new ModelSpecError(
    spec,
    `embedder "${spec}" is not supported; use lexical, openai:<model>[@url] or gguf:<path>`,
  );
}

/** A checkpoint repository on the Hub, as `parseModelSpec` reads it from `hf:<owner>/<repo>[@revision]`. */
export interface HuggingFaceCheckpointSource {
  owner: string;
  repository: string;
  /** Branch, tag or commit. Default `main`. */
  revision?: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const REVISION = /^[A-Za-z0-9][A-Za-z0-9._/-]*$/;

/** `hf:<owner>/<repo>[@revision]`, the revision shown only when given. */
export function huggingFaceCheckpointUri({ owner, repository, revision }: HuggingFaceCheckpointSource): string {
  return `hf:${owner}/${repository}${revision === undefined ? "" : `@${revision}`}`;
}

/** Throws ModelSpecError unless owner, repository and revision are safe Hub names (they become paths). */
export function checkHuggingFaceCheckpointSource(source: HuggingFaceCheckpointSource & { spec: string }): void {
  const { owner, repository, revision, spec } = source;
  for (const [what, value] of [
    ["owner", owner],
    ["repository", repository],
  ] as const) {
    if (!NAME.test(value) || value.includes("..")) {
      throw new ModelSpecError(spec, `model spec "${spec}": ${what} "${value}" is not a Hugging Face name`);
    }
  }
  if (revision !== undefined && (!REVISION.test(revision) || revision.includes(".."))) {
    throw new ModelSpecError(spec, `model spec "${spec}": revision "${revision}" is not a branch, tag or commit`);
  }
}
