/**
 * The CLI side of start checkpoints: reads HF_ENDPOINT and HF_TOKEN from the environment (neither is
 * logged) and resolves `--model` through the library's {@link resolveLibraryCheckpointDirectory}.
 */
import {
  type HuggingFaceAccess,
  resolveCheckpointDirectory as resolveLibraryCheckpointDirectory,
} from "../experiment/checkpoint-directory.js";
import type { CliContext } from "./cli-context.js";

/** The Hub endpoint and access token the environment gives (HF_ENDPOINT, HF_TOKEN); each absent when unset. */
export function huggingFaceAccess(context: CliContext): HuggingFaceAccess {
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
  return resolveLibraryCheckpointDirectory({
    model,
    cacheDirectory: context.cacheDirectory,
    huggingFace: huggingFaceAccess(context),
    flag,
    ...(onProgress ? { onProgress } : {}),
    ...(signal ? { signal } : {}),
  });
}
