/**
 * Resolves `hf:<owner>/<repo>[@revision]` to a local checkpoint directory (Hugging Face layout),
 * downloading it once into `<cache>/checkpoints/<owner>/<repo>/<revision>/`: `config.json`, the
 * safetensors weights (one file, or every shard an index names) and the tokenizer files. The files go
 * to a temporary sibling renamed into place when all have arrived and been checked, so the cache holds
 * whole checkpoints only, and a later use finds the directory and asks the server nothing.
 */
import { createWriteStream, existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, rmdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { parseCheckpointConfig } from "../model/checkpoint-config.js";
import { readSafetensorsHeader } from "../model/safetensors/safetensors-reader.js";
import { removeStaleTemporaries, temporarySiblingPath } from "../model/temporary-path.js";
import { CancelledError, ModelSpecError, ProviderError } from "../spec/errors.js";
import { HUGGING_FACE_ENDPOINT } from "./hugging-face-model-file.js";
import {
  checkHuggingFaceCheckpointSource,
  type HuggingFaceCheckpointSource,
  huggingFaceCheckpointUri,
} from "./model-spec.js";

/** Options of {@link resolveHuggingFaceCheckpoint}. */
export interface ResolveHuggingFaceCheckpointOptions extends HuggingFaceCheckpointSource {
  /** The toolkit's cache directory; checkpoints are kept in `<cacheDirectory>/checkpoints/`. */
  cacheDirectory: string;
  /** Hub base URL (a mirror, or a test server). Default `https://huggingface.co`. */
  endpoint?: string;
  /** Bearer token for gated or private repositories; never logged or stored. Default none. */
  accessToken?: string;
  /** Called as bytes of each file arrive (not at all when the checkpoint is cached). */
  onProgress?: (progress: { file: string; downloadedBytes: number; totalBytes: number }) => void;
  /** Cancels the download; nothing is left in the cache. */
  signal?: AbortSignal;
  /** How long each request waits for the server's answer (headers), in milliseconds. Default 30000. */
  connectTimeoutMs?: number;
}

/** Tokenizer and generation files fetched when the repository has them (tokenizer.json is required). */
export const OPTIONAL_CHECKPOINT_FILES: readonly string[] = [
  "tokenizer_config.json",
  "generation_config.json",
  "special_tokens_map.json",
  "chat_template.jinja",
];

const SHARD = /^[A-Za-z0-9][A-Za-z0-9._-]*\.safetensors$/;

/** Where a checkpoint is cached (whether or not it is there yet). */
export function huggingFaceCheckpointDirectory({
  cacheDirectory,
  owner,
  repository,
  revision = "main",
}: HuggingFaceCheckpointSource & { cacheDirectory: string }): string {
  return join(cacheDirectory, "checkpoints", owner, repository, encodeURIComponent(revision));
}

/** The cached checkpoint directory, or undefined when it has not been downloaded. Never downloads. */
export function findCachedHuggingFaceCheckpoint(
  options: HuggingFaceCheckpointSource & { cacheDirectory: string },
): string | undefined {
  const directory = huggingFaceCheckpointDirectory(options);
  return existsSync(join(directory, "config.json")) ? directory : undefined;
}

/**
 * Returns the local directory of the checkpoint, downloading it the first time. `config.json` comes
 * first and is validated, so an architecture the decoder does not implement is refused before any
 * weights are fetched. Throws ModelSpecError for a repository or required file the server does not
 * have (404) or a malformed file, ProviderError when the server cannot deliver (unreachable, 401/403,
 * 5xx), CancelledError on abort, ConfigError for an unsupported config.json.
 */
export async function resolveHuggingFaceCheckpoint({
  owner,
  repository,
  revision,
  cacheDirectory,
  endpoint = HUGGING_FACE_ENDPOINT,
  accessToken,
  onProgress,
  signal,
  connectTimeoutMs = 30_000,
}: ResolveHuggingFaceCheckpointOptions): Promise<string> {
  const uri = huggingFaceCheckpointUri({ owner, repository, ...(revision === undefined ? {} : { revision }) });
  checkHuggingFaceCheckpointSource({ owner, repository, revision, spec: uri });
  const cached = findCachedHuggingFaceCheckpoint({ cacheDirectory, owner, repository, revision: revision ?? "main" });
  if (cached !== undefined) return cached;
  if (signal?.aborted) throw new CancelledError(`download of ${uri} cancelled`);
  const target = huggingFaceCheckpointDirectory({ cacheDirectory, owner, repository, revision: revision ?? "main" });
  await mkdir(dirname(target), { recursive: true });
  removeStaleTemporaries({ directory: dirname(target) });
  const temporary = temporarySiblingPath({ path: target, suffix: "partial" });
  await mkdir(temporary);
  const base = `${endpoint.replace(/\/+$/, "")}/${encodeURIComponent(owner)}/${encodeURIComponent(repository)}/resolve/${encodeURIComponent(revision ?? "main")}`;
  const download = (file: string) =>
    downloadFile({
      url: `${base}/${file}`,
      destination: join(temporary, file),
      label: `${uri} ${file}`,
      uri,
      endpoint,
      accessToken,
      signal,
      connectTimeoutMs,
      onProgress,
    });
  const required = async (file: string, why: string) => {
    if (!(await download(file))) {
      throw new ModelSpecError(uri, `${uri} has no ${file} on ${endpoint} (404); ${why}`);
    }
  };
  try {
    await required("config.json", "check the owner, repository and revision");
    const configJson = await readJsonFile(join(temporary, "config.json"), `${uri} config.json`, uri);
    parseCheckpointConfig({ json: configJson, file: `${uri} config.json` });
    await required("tokenizer.json", "only Hugging Face fast-tokenizer files are supported");
    for (const file of OPTIONAL_CHECKPOINT_FILES) await download(file);
    const shards = (await download("model.safetensors.index.json"))
      ? shardsOf(await readJsonFile(join(temporary, "model.safetensors.index.json"), `${uri} index`, uri), uri)
      : ["model.safetensors"];
    for (const shard of shards) {
      await required(shard, "only safetensors weights are supported (no pytorch_model.bin)");
      await readSafetensorsHeader(join(temporary, shard)).catch((error: unknown) => {
        throw new ModelSpecError(uri, `${uri} ${shard} is not a safetensors file: ${(error as Error).message}`);
      });
    }
    try {
      await rename(temporary, target);
    } catch (error) {
      // Another process completed the same checkpoint first: keep theirs.
      if (findCachedHuggingFaceCheckpoint({ cacheDirectory, owner, repository, revision: revision ?? "main" })) {
        await rm(temporary, { recursive: true, force: true });
        return target;
      }
      throw error;
    }
  } catch (error) {
    await rm(temporary, { recursive: true, force: true });
    // Leave no empty repository folder behind either (rmdir refuses a folder that holds anything).
    await rmdir(dirname(target)).catch(() => undefined);
    throw error;
  }
  return target;
}

/** The shard files a `model.safetensors.index.json` names, each once, in first-seen order. */
function shardsOf(index: unknown, uri: string): string[] {
  const weightMap = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof weightMap !== "object" || weightMap === null || Array.isArray(weightMap)) {
    throw new ModelSpecError(uri, `${uri} model.safetensors.index.json has no weight_map object`);
  }
  const shards = [...new Set(Object.values(weightMap as Record<string, unknown>))];
  for (const shard of shards) {
    if (typeof shard !== "string" || !SHARD.test(shard)) {
      throw new ModelSpecError(
        uri,
        `${uri} model.safetensors.index.json names ${JSON.stringify(shard)}, not a .safetensors file in the repository root`,
      );
    }
  }
  if (shards.length === 0) throw new ModelSpecError(uri, `${uri} model.safetensors.index.json maps no tensors`);
  return shards as string[];
}

async function readJsonFile(path: string, label: string, uri: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, "utf8"));
  } catch (error) {
    throw new ModelSpecError(uri, `${label} is not valid JSON: ${(error as Error).message}`);
  }
}

/** GETs `url` into `destination`; false when the server has no such file (404). */
async function downloadFile({
  url,
  destination,
  label,
  uri,
  endpoint,
  accessToken,
  signal,
  connectTimeoutMs,
  onProgress,
}: {
  url: string;
  destination: string;
  label: string;
  uri: string;
  endpoint: string;
  accessToken: string | undefined;
  signal: AbortSignal | undefined;
  connectTimeoutMs: number;
  onProgress: ResolveHuggingFaceCheckpointOptions["onProgress"];
}): Promise<boolean> {
  const answered = new AbortController();
  const timer = setTimeout(() => answered.abort(), connectTimeoutMs);
  let response: Response;
  try {
    response = await fetch(url, {
      redirect: "follow",
      headers: accessToken ? { authorization: `Bearer ${accessToken}` } : {},
      signal: signal ? AbortSignal.any([signal, answered.signal]) : answered.signal,
    });
  } catch (error) {
    if (signal?.aborted) throw new CancelledError(`download of ${uri} cancelled`);
    const reason = answered.signal.aborted
      ? `no answer within ${connectTimeoutMs} ms`
      : error instanceof Error
        ? error.message
        : String(error);
    throw new ProviderError(
      `cannot reach ${endpoint} to download ${label}: ${reason}; check your network or the endpoint`,
      {
        code: "DOWNLOAD_FAILED",
        retryable: true,
        endpoint,
        cause: error,
      },
    );
  } finally {
    clearTimeout(timer);
  }
  if (response.status === 404) {
    await response.body?.cancel();
    return false;
  }
  if (response.status === 401 || response.status === 403) {
    await response.body?.cancel();
    throw new ProviderError(
      `${uri} on ${endpoint} needs access (${response.status}); accept the model's terms on the Hub and set a Hugging Face access token`,
      { code: "DOWNLOAD_FORBIDDEN", status: response.status, retryable: false, endpoint },
    );
  }
  if (!response.ok || response.body === null) {
    await response.body?.cancel();
    throw new ProviderError(`${endpoint} answered ${response.status} for ${label}`, {
      code: "DOWNLOAD_FAILED",
      status: response.status,
      retryable: response.status === 429 || response.status >= 500,
      endpoint,
    });
  }
  // A compressed answer's content-length counts compressed bytes; fetch hands over decompressed ones.
  const compressed = (response.headers.get("content-encoding") ?? "identity") !== "identity";
  const totalBytes = compressed ? 0 : Number(response.headers.get("content-length") ?? 0) || 0;
  let downloadedBytes = 0;
  const body = Readable.fromWeb(response.body as import("node:stream/web").ReadableStream<Uint8Array>);
  body.on("data", (chunk: Buffer) => {
    downloadedBytes += chunk.length;
    onProgress?.({ file: label, downloadedBytes, totalBytes });
  });
  try {
    await pipeline(body, createWriteStream(destination), { signal: signal ?? AbortSignal.any([]) });
  } catch (error) {
    if (signal?.aborted) throw new CancelledError(`download of ${uri} cancelled`);
    throw new ProviderError(`download of ${label} from ${endpoint} broke off: ${(error as Error).message}`, {
      code: "DOWNLOAD_FAILED",
      retryable: true,
      endpoint,
      cause: error,
    });
  }
  if (totalBytes > 0 && downloadedBytes !== totalBytes) {
    throw new ProviderError(`download of ${label} ended after ${downloadedBytes} of ${totalBytes} bytes`, {
      code: "DOWNLOAD_FAILED",
      retryable: true,
      endpoint,
    });
  }
  return true;
}
