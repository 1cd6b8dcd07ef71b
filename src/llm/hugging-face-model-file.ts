/**
 * Resolves `hf:<owner>/<repo>/<path>.gguf` to a local file, downloading it once into the cache.
 * The download itself is node-llama-cpp's `resolveModelFile` (parallel ranged requests, a temporary
 * file renamed into place when complete); this module fixes where files go, which server is asked,
 * which token is sent, and checks that what arrived is a GGUF file.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { resolveModelFile } from "node-llama-cpp";
import { CancelledError, ModelSpecError, ProviderError } from "../spec/errors.js";
import { assertGgufFile, errorMessage } from "./llama-cpp-runtime.js";

/** The public Hugging Face Hub. */
export const HUGGING_FACE_ENDPOINT = "https://huggingface.co";

/** Download progress in bytes; `totalBytes` is 0 until the server reports a size. */
export interface DownloadProgress {
  downloadedBytes: number;
  totalBytes: number;
}

/** Options for `resolveHuggingFaceModelFile`. */
export interface ResolveHuggingFaceModelFileOptions {
  /** `hf:<owner>/<repo>/<path>.gguf`, optionally with `#<branch>` (default branch `main`). */
  uri: string;
  /** The toolkit's cache directory; model files are kept in `<cacheDirectory>/models/`. */
  cacheDirectory: string;
  /** Hub base URL (a mirror, or a test server). Default `https://huggingface.co`. */
  endpoint?: string;
  /** Bearer token for gated or private repositories; never logged. Default: none (no token files are read). */
  accessToken?: string;
  /** Called as bytes arrive (not at all when the file is already cached). */
  onProgress?: (progress: DownloadProgress) => void;
  /** Cancels the download; the partial file is removed. */
  signal?: AbortSignal;
}

const HUGGING_FACE_URI = /^hf:[^/\s#]+\/[^/\s#]+\/[^\s#]+\.gguf(#[^\s#]+)?$/i;

/**
 * Returns the local path of the model file, downloading it into `<cacheDirectory>/models/` the first
 * time; later calls find the file and make no request. Throws `ModelSpecError` for a malformed URI or
 * a download that is not GGUF, `ProviderError` when the server cannot deliver, `CancelledError` on abort.
 */
export async function resolveHuggingFaceModelFile({
  uri,
  cacheDirectory,
  endpoint = HUGGING_FACE_ENDPOINT,
  accessToken,
  onProgress,
  signal,
}: ResolveHuggingFaceModelFileOptions): Promise<string> {
  if (!HUGGING_FACE_URI.test(uri)) {
    throw new ModelSpecError(uri, `model spec "${uri}" must look like hf:<owner>/<repo>/<file>.gguf`);
  }
  if (signal?.aborted) throw new CancelledError(`download of ${uri} cancelled`);
  let path: string;
  try {
    path = await resolveModelFile(uri, {
      directory: join(cacheDirectory, "models"),
      cli: false,
      endpoints: { huggingFace: endpoint },
      // null stops node-llama-cpp from reading HF_TOKEN or ~/.cache/huggingface/token on its own:
      // credentials come in through the CLI/config layer only.
      tokens: { huggingFace: (accessToken ?? null) as string | undefined },
      ...(onProgress
        ? {
            onProgress: ({ downloadedSize, totalSize }: { downloadedSize: number; totalSize: number }) =>
              onProgress({ downloadedBytes: downloadedSize, totalBytes: totalSize }),
          }
        : {}),
      ...(signal ? { signal } : {}),
    });
  } catch (error) {
    if (signal?.aborted) throw new CancelledError(`download of ${uri} cancelled`);
    throw new ProviderError(
      `could not download ${uri} from ${endpoint}: ${errorMessage(error)}; check the owner, repository and file name, your network, or set an access token for gated models`,
      { code: "DOWNLOAD_FAILED", retryable: true, endpoint, cause: error },
    );
  }
  try {
    await assertGgufFile({ path, spec: uri });
  } catch (error) {
    // An error page saved as a model would otherwise be "cached" forever.
    await rm(path, { force: true });
    throw error;
  }
  return path;
}
