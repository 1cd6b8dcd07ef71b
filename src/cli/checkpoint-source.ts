/**
 * Where a command's start checkpoint comes from: a local directory, or `hf:<owner>/<repo>[@revision]`
 * downloaded once into the cache (from HF_ENDPOINT when set, with HF_TOKEN when set; neither is
 * logged). `hf:<owner>/<repo>/<file>.gguf` names a GGUF file, which is not a checkpoint.
 */
import { resolve } from "node:path";
import { resolveHuggingFaceCheckpoint } from "../llm/hugging-face-checkpoint.js";
import { parseModelSpec } from "../llm/model-spec.js";
import { ModelSpecError } from "../spec/errors.js";
import type { CliContext } from "./cli-context.js";

/** The Hub endpoint and access token the environment gives (HF_ENDPOINT, HF_TOKEN); each absent when unset. */
export function huggingFaceAccess(context: CliContext): { endpoint?: string; accessToken?: string } {
  const { HF_ENDPOINT: endpoint, HF_TOKEN: accessToken } = context.environment;
  return { ...(endpoint ? { endpoint } : {}), ...(accessToken ? { accessToken } : {}) };
}

/**
 * The local directory of `model`: `hf:<owner>/<repo>[@revision]` (also spelled `local:hf:...`) is
 * downloaded into the cache the first time; anything else is a directory path, resolved. `flag`
 * (default `--model`) names the option in messages.
 */
export async function resolveCheckpointDirectory({
  model,
  context,
  flag = "--model",
  onProgress,
  signal,
}: {
  model: string;
  context: CliContext;
  flag?: string;
  onProgress?: (progress: { file: string; downloadedBytes: number; totalBytes: number }) => void;
  signal?: AbortSignal;
}): Promise<string> {
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
    cacheDirectory: context.cacheDirectory,
    ...huggingFaceAccess(context),
    ...(onProgress ? { onProgress } : {}),
    ...(signal ? { signal } : {}),
  });
}
