/**
 * Resolves `hf:<owner>/<repo>/<path>.gguf` to a local file, downloading it once into the cache.
 * The download itself is node-llama-cpp's `resolveModelFile` (parallel ranged requests, a temporary
 * file renamed into place when complete); this module fixes where files go, which server is asked,
 * which token is sent, fails fast when the file cannot be had, and checks that what arrived is GGUF.
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
  /** How long the pre-download check waits for the server, in milliseconds. Default 30000. */
  connectTimeoutMs?: number;
}

const HUGGING_FACE_URI = /^hf:([^/\s#]+)\/([^/\s#]+)\/([^\s#]+\.gguf)(?:#([^\s#]+))?$/i;

/**
 * Returns the local path of the model file, downloading it into `<cacheDirectory>/models/` the first
 * time; later calls find the file and make no request. Before downloading, one HEAD request (bounded
 * by `connectTimeoutMs`) checks that the file is there, so an unreachable server, a wrong name or a
 * gated model fails fast instead of being retried for minutes.
 * Throws `ModelSpecError` for a malformed URI, a file the Hub does not have, or a download that is not
 * GGUF; `ProviderError` when the server cannot deliver; `CancelledError` on abort.
 */
export async function resolveHuggingFaceModelFile({
  uri,
  cacheDirectory,
  endpoint = HUGGING_FACE_ENDPOINT,
  accessToken,
  onProgress,
  signal,
  connectTimeoutMs = 30_000,
}: ResolveHuggingFaceModelFileOptions): Promise<string> {
  const match = HUGGING_FACE_URI.exec(uri);
  if (!match) {
    throw new ModelSpecError(uri, `model spec "${uri}" must look like hf:<owner>/<repo>/<file>.gguf`);
  }
  if (signal?.aborted) throw new CancelledError(`download of ${uri} cancelled`);
  const options = resolveOptions({ cacheDirectory, endpoint, accessToken });
  const cached = await resolveModelFile(uri, { ...options, download: false }).catch(() => undefined);
  if (cached) return cached;

  await checkRemoteFile({ uri, match, endpoint, accessToken, signal, connectTimeoutMs });
  let path: string;
  try {
    path = await resolveModelFile(uri, {
      ...options,
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
    throw new ProviderError(`could not download ${uri} from ${endpoint}: ${errorMessage(error)}`, {
      code: "DOWNLOAD_FAILED",
      retryable: true,
      endpoint,
      cause: error,
    });
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

/**
 * The cached file of `hf:<owner>/<repo>/<path>.gguf` in `<cacheDirectory>/models/`, or undefined when
 * it has not been downloaded yet. Never downloads.
 */
export async function findCachedHuggingFaceModelFile({
  uri,
  cacheDirectory,
}: {
  uri: string;
  cacheDirectory: string;
}): Promise<string | undefined> {
  if (!HUGGING_FACE_URI.test(uri)) return undefined;
  const options = resolveOptions({ cacheDirectory, endpoint: HUGGING_FACE_ENDPOINT, accessToken: undefined });
  return resolveModelFile(uri, { ...options, download: false }).catch(() => undefined);
}

function resolveOptions({
  cacheDirectory,
  endpoint,
  accessToken,
}: {
  cacheDirectory: string;
  endpoint: string;
  accessToken: string | undefined;
}) {
  return {
    directory: join(cacheDirectory, "models"),
    cli: false,
    endpoints: { huggingFace: endpoint },
    // null stops node-llama-cpp from reading HF_TOKEN or ~/.cache/huggingface/token on its own:
    // credentials come in through the CLI/config layer only.
    tokens: { huggingFace: (accessToken ?? null) as string | undefined },
  };
}

async function checkRemoteFile({
  uri,
  match,
  endpoint,
  accessToken,
  signal,
  connectTimeoutMs,
}: {
  uri: string;
  match: RegExpExecArray;
  endpoint: string;
  accessToken: string | undefined;
  signal: AbortSignal | undefined;
  connectTimeoutMs: number;
}): Promise<void> {
  const [, owner = "", repository = "", file = "", branch = "main"] = match;
  const encodedFile = file.split("/").map(encodeURIComponent).join("/");
  const url = `${endpoint.replace(/\/+$/, "")}/${encodeURIComponent(owner)}/${encodeURIComponent(repository)}/resolve/${encodeURIComponent(branch)}/${encodedFile}`;
  const timeout = AbortSignal.timeout(connectTimeoutMs);
  let response: Response;
  try {
    response = await fetch(url, {
      method: "HEAD",
      redirect: "follow",
      headers: accessToken ? { authorization: `Bearer ${accessToken}` } : {},
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
  } catch (error) {
    if (signal?.aborted) throw new CancelledError(`download of ${uri} cancelled`);
    const reason = timeout.aborted ? `no answer within ${connectTimeoutMs} ms` : errorMessage(error);
    throw new ProviderError(
      `cannot reach ${endpoint} to download ${uri}: ${reason}; check your network or the endpoint`,
      {
        code: "DOWNLOAD_FAILED",
        retryable: true,
        endpoint,
        cause: error,
      },
    );
  }
  if (response.ok) return;
  if (response.status === 404) {
    throw new ModelSpecError(
      uri,
      `${uri} was not found on ${endpoint} (404); check the owner, repository and file name`,
    );
  }
  if (response.status === 401 || response.status === 403) {
    throw new ProviderError(
      `${uri} on ${endpoint} needs access (${response.status}); accept the model's terms on the Hub and set a Hugging Face access token`,
      { code: "DOWNLOAD_FORBIDDEN", status: response.status, retryable: false, endpoint },
    );
  }
  throw new ProviderError(`${endpoint} answered ${response.status} for ${uri}`, {
    code: "DOWNLOAD_FAILED",
    status: response.status,
    retryable: response.status === 429 || response.status >= 500,
    endpoint,
  });
}
