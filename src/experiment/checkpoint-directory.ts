/**
 * Where a start checkpoint comes from: a local directory, or `hf:<owner>/<repo>[@revision]`
 * downloaded once into the cache. The Hub endpoint and token are passed in as values (the CLI reads
 * them from HF_ENDPOINT and HF_TOKEN); neither is logged. `hf:<owner>/<repo>/<file>.gguf` names a GGUF
 * file, which is not a checkpoint.
 */
import { resolve } from "node:path";
import { resolveHuggingFaceCheckpoint } from "../llm/hugging-face-checkpoint.js";
import { parseModelSpec } from "../llm/model-spec.js";
import { ModelSpecError } from "../spec/errors.js";

/** How to reach the Hugging Face Hub: each absent when not configured (the public Hub, no token). */
export interface HuggingFaceAccess {
  endpoint?: string;
  /** A secret: passed to the Hub only, never logged or stored. */
  accessToken?: string;
}

/** Options of {@link resolveCheckpointDirectory}. */
export interface ResolveCheckpointDirectoryOptions {
  /** A directory path, or `hf:<owner>/<repo>[@revision]` (also spelled `local:hf:...`). */
  model: string;
  /** The download cache (checkpoints go under `<cache>/checkpoints`). */
  cacheDirectory: string;
  /** Hub endpoint and token. Default: the public Hub without a token. */
  huggingFace?: HuggingFaceAccess;
  /** The option named in messages. Default `--model`. */
  flag?: string;
  onProgress?: (progress: { file: string; downloadedBytes: number; totalBytes: number }) => void;
  signal?: AbortSignal;
}

/** The local directory of `model`, downloading an `hf:` checkpoint into the cache the first time. */
export async function resolveCheckpointDirectory({
  model,
  cacheDirectory,
  huggingFace = {},
  flag = "--model",
  onProgress,
  signal,
}: ResolveCheckpointDirectoryOptions): Promise<string> {
  if (!model.startsWith("hf:") && !model.startsWith("local:hf:")) return resolve(model);
  const parsed = parseModelSpec(model);
  if (parsed.provider !== "hf-checkpoint") {
    throw new ModelSpecError(
      model,
      `${flag} ${model} names a GGUF file; ${flag} takes a checkpoint: a directory or hf:<owner>/<repo>[@revision]`,
    );
  }
  return resolveHuggingFaceCheckpoint({
    owner: parsed.owner,
    repository: parsed.repository,
    ...(parsed.revision === undefined ? {} : { revision: parsed.revision }),
    cacheDirectory,
    ...huggingFace,
    ...(onProgress ? { onProgress } : {}),
    ...(signal ? { signal } : {}),
  });
}
