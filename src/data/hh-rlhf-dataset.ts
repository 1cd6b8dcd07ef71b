/**
 * `--dataset hh-rlhf`: Anthropic's HH-RLHF harmless-base split, downloaded once into the cache (the
 * one downloader; below the simulation and evaluation, which both read it). The
 * training pairs seed the prior (SPEC 1.2); the first human turns of the test pairs form the question
 * pool, so the questions agents answer are not the very questions in their prior memory.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { createAtomicWriter } from "../model/atomic-writer.js";
import { CancelledError, InputError, ProviderError } from "../spec/errors.js";
import { firstHumanTurn } from "./hh-rlhf.js";
import { readLines } from "./line-reader.js";

/** The Hugging Face dataset repository. */
export const HH_RLHF_REPOSITORY = "Anthropic/hh-rlhf";
/** Files used: the prior's pairs and the question pool's dialogues. */
export const HH_RLHF_FILES = {
  prior: "harmless-base/train.jsonl.gz",
  questions: "harmless-base/test.jsonl.gz",
} as const;

/** Local paths of the two files. */
export interface HhRlhfDataset {
  priorPath: string;
  questionsPath: string;
}

type FetchFunction = (input: string, init?: RequestInit) => Promise<Response>;

async function download({
  url,
  path,
  fetch,
  signal,
  onProgress,
}: {
  url: string;
  path: string;
  fetch: FetchFunction;
  signal: AbortSignal | undefined;
  onProgress: ((progress: { file: string; downloadedBytes: number; totalBytes: number }) => void) | undefined;
}): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, signal === undefined ? {} : { signal });
  } catch (cause) {
    if (signal?.aborted) throw new CancelledError(`download of ${url} cancelled`);
    throw new ProviderError(`could not download ${url}: ${String(cause)}; check your network`, {
      code: "DOWNLOAD_FAILED",
      retryable: true,
      endpoint: url,
      cause,
    });
  }
  if (!response.ok || response.body === null) {
    throw new ProviderError(`could not download ${url}: HTTP ${response.status}`, {
      code: "DOWNLOAD_FAILED",
      status: response.status,
      retryable: response.status >= 500 || response.status === 429,
      endpoint: url,
    });
  }
  // Written through the atomic writer: the file appears only once whole and checked.
  const writer = createAtomicWriter({ path, gzip: false });
  const totalBytes = Number(response.headers.get("content-length") ?? 0);
  let downloadedBytes = 0;
  const head: number[] = [];
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      downloadedBytes += chunk.byteLength;
      if (head.length < 2) head.push(...chunk.subarray(0, 2 - head.length));
      await writer.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      onProgress?.({ file: url, downloadedBytes, totalBytes });
    }
  } catch (cause) {
    await writer.abort();
    if (signal?.aborted) throw new CancelledError(`download of ${url} cancelled`);
    throw new ProviderError(`download of ${url} broke off: ${String(cause)}`, {
      code: "DOWNLOAD_FAILED",
      retryable: true,
      endpoint: url,
      cause,
    });
  }
  if (head[0] !== 0x1f || head[1] !== 0x8b) {
    await writer.abort();
    throw new ProviderError(`${url} did not return a gzip file`, {
      code: "DOWNLOAD_FAILED",
      retryable: false,
      endpoint: url,
    });
  }
  await writer.commit();
}

/**
 * Returns the local paths, downloading missing files from `endpoint` (default the Hugging Face Hub)
 * into `<cacheDirectory>/datasets/hh-rlhf/`. Files already there are used without any request.
 */
export async function ensureHhRlhfDataset({
  cacheDirectory,
  endpoint = "https://huggingface.co",
  fetch = globalThis.fetch,
  signal,
  onProgress,
}: {
  cacheDirectory: string;
  endpoint?: string;
  fetch?: FetchFunction;
  signal?: AbortSignal;
  onProgress?: (progress: { file: string; downloadedBytes: number; totalBytes: number }) => void;
}): Promise<HhRlhfDataset> {
  const directory = join(cacheDirectory, "datasets", "hh-rlhf");
  mkdirSync(directory, { recursive: true });
  const local = (file: string): string => join(directory, file.replaceAll("/", "-"));
  for (const file of Object.values(HH_RLHF_FILES)) {
    const path = local(file);
    if (existsSync(path)) continue;
    const url = `${endpoint.replace(/\/+$/, "")}/datasets/${HH_RLHF_REPOSITORY}/resolve/main/${file}`;
    await download({ url, path, fetch, signal, onProgress });
  }
  return { priorPath: local(HH_RLHF_FILES.prior), questionsPath: local(HH_RLHF_FILES.questions) };
}

/** The first human turn of every `chosen` dialogue in an HH-RLHF file, deduplicated, in file order. */
export async function loadHhRlhfQuestions({ path }: { path: string }): Promise<string[]> {
  const questions = new Set<string>();
  for await (const { text, line } of readLines({ path })) {
    if (text.trim() === "") continue;
    let record: { chosen?: unknown };
    try {
      record = JSON.parse(text) as { chosen?: unknown };
    } catch {
      throw new InputError("not valid JSON", { file: path, line });
    }
    if (typeof record.chosen !== "string") {
      throw new InputError('an HH-RLHF record needs a string field "chosen"', { file: path, line });
    }
    const question = firstHumanTurn(record.chosen);
    if (question !== undefined) questions.add(question);
  }
  if (questions.size === 0) throw new InputError("no questions found", { file: path });
  return [...questions];
}
