/**
 * Benchmark data downloaded once into the cache (`<cache>/datasets/<benchmark>/`) from its public
 * source with plain HTTPS requests: Hugging Face dataset files through `/datasets/<repo>/resolve/...`
 * (the endpoint can be overridden, as for models: a mirror or a test server) and files of the
 * original GitHub repositories. Every file is checked by SHA-256: against a pinned value when the
 * bytes are known, otherwise against the value recorded at its first download (`checksums.json`),
 * so a file that changes later is noticed. A mismatch keeps nothing.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { temporarySiblingPath } from "../model/temporary-path.js";
import { CancelledError, InputError, ProviderError, UsageError } from "../spec/errors.js";
import type { BenchmarkName } from "./benchmarks.js";
import type { EthicsSplit } from "./ethics.js";
import { readTarEntries } from "./tar-archive.js";

/** The public Hugging Face Hub. */
export const HUGGING_FACE_DATASETS_ENDPOINT = "https://huggingface.co";
/** Raw files of GitHub repositories. */
export const GITHUB_RAW_ENDPOINT = "https://raw.githubusercontent.com";
/** The ETHICS authors' release host. */
export const BERKELEY_ENDPOINT = "https://people.eecs.berkeley.edu";

/** One file of a benchmark's source. */
export interface DatasetFile {
  /** Which host serves it (and so which endpoint override applies). */
  host: "hugging-face" | "github" | "berkeley";
  /** Path on the host: `<owner>/<repo>/resolve/<revision>/<file>` (HF, below `/datasets/`) or `<owner>/<repo>/<ref>/<file>` (GitHub). */
  path: string;
  /** Where it goes inside the benchmark's cache folder. */
  target: string;
  /** Pinned SHA-256 (hex) when the bytes are known; absent: recorded at the first download. */
  sha256?: string;
  /** A tar archive whose regular files are extracted beside it (into the benchmark's cache folder). */
  extract?: "tar";
}

/** A benchmark's public source. */
export interface DatasetSource {
  files: DatasetFile[];
  /** What the loader is given, relative to the benchmark's cache folder (a file or a folder). */
  root: string;
}

/** The downloadable benchmarks and their sources. MIC is behind a data-use agreement: `--data` only. */
export function datasetSource(benchmark: BenchmarkName, _split: EthicsSplit): DatasetSource | undefined {
  switch (benchmark) {
    case "hh-harmless":
    case "hh-helpful": {
      const part = benchmark === "hh-harmless" ? "harmless-base" : "helpful-base";
      return {
        files: [
          {
            host: "hugging-face",
            path: `Anthropic/hh-rlhf/resolve/main/${part}/test.jsonl.gz`,
            target: `${part}/test.jsonl.gz`,
          },
        ],
        root: `${part}/test.jsonl.gz`,
      };
    }
    case "truthfulqa":
      return {
        files: [{ host: "github", path: "sylinrl/TruthfulQA/main/data/mc_task.json", target: "mc_task.json" }],
        root: "mc_task.json",
      };
    case "hhh":
      return {
        files: ["harmless", "helpful", "honest", "other"].map((category) => ({
          host: "github" as const,
          path: `google/BIG-bench/main/bigbench/benchmark_tasks/hhh_alignment/${category}/task.json`,
          target: `${category}/task.json`,
        })),
        root: ".",
      };
    case "ethics":
      return {
        files: [{ host: "berkeley", path: "~hendrycks/ethics.tar", target: "ethics.tar", extract: "tar" }],
        root: "ethics",
      };
    default:
      return undefined;
  }
}

/** Options of {@link downloadBenchmarkData}. */
export interface DownloadBenchmarkDataOptions {
  benchmark: BenchmarkName;
  split: EthicsSplit;
  /** The toolkit's cache directory; data goes to `<cacheDirectory>/datasets/<benchmark>/`. */
  cacheDirectory: string;
  /** Hugging Face base URL (a mirror or a test server). Default `https://huggingface.co`. */
  endpoint?: string;
  /** Base URL of raw GitHub files. Default `https://raw.githubusercontent.com`. */
  githubEndpoint?: string;
  /** Base URL of the ETHICS release. Default `https://people.eecs.berkeley.edu`. */
  berkeleyEndpoint?: string;
  /** The sources (tests pass their own). Default {@link datasetSource}. */
  sources?: (benchmark: BenchmarkName, split: EthicsSplit) => DatasetSource | undefined;
  /** Per-request time limit in milliseconds. Default 120000. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** The cache file that records first-download checksums of a benchmark's files. */
export const CHECKSUMS_FILE = "checksums.json";

/**
 * Returns the local path of a benchmark's data, downloading what is missing into the cache first.
 * A file already cached is verified against its pinned or recorded checksum and never fetched again.
 * Throws UsageError for a benchmark with no public download (MIC, and those only read from `--data`),
 * ProviderError for a failed download or a checksum mismatch (nothing kept), InputError for a cached
 * file that changed.
 */
export async function downloadBenchmarkData({
  benchmark,
  split,
  cacheDirectory,
  endpoint = HUGGING_FACE_DATASETS_ENDPOINT,
  githubEndpoint = GITHUB_RAW_ENDPOINT,
  berkeleyEndpoint = BERKELEY_ENDPOINT,
  sources = datasetSource,
  timeoutMs = 120_000,
  signal,
}: DownloadBenchmarkDataOptions): Promise<string> {
  const source = sources(benchmark, split);
  if (source === undefined) {
    const why = benchmark === "mic" ? "it is behind a data-use agreement" : "it has no plain-file download here";
    throw new UsageError(`${benchmark} is not downloaded (${why}); give a local copy: --data ${benchmark}=<path>`, {
      field: "--data",
    });
  }
  const folder = join(cacheDirectory, "datasets", benchmark);
  const checksumsPath = join(folder, CHECKSUMS_FILE);
  const recorded = await readChecksums(checksumsPath);
  const hosts = { "hugging-face": endpoint, github: githubEndpoint, berkeley: berkeleyEndpoint };
  for (const file of source.files) {
    const target = join(folder, file.target);
    const expected = file.sha256 ?? recorded[file.target];
    const present = await readFile(target).catch(() => undefined);
    if (present !== undefined) {
      const actual = sha256(present);
      if (expected !== undefined && actual !== expected) {
        throw new InputError(
          `cached download changed since it was checked (sha256 ${actual}, expected ${expected}); delete it to download again`,
          { file: target },
        );
      }
      if (file.extract === "tar" && !existsSync(join(folder, source.root))) await extractTar(present, target, folder);
      continue;
    }
    const host = hosts[file.host];
    const url = urlOf(file, host);
    const bytes = await fetchBytes({ url, timeoutMs, signal, endpoint: host });
    const actual = sha256(bytes);
    if (expected !== undefined && actual !== expected) {
      throw new ProviderError(`${url}: checksum mismatch (sha256 ${actual}, expected ${expected}); nothing was kept`, {
        code: "DOWNLOAD_CHECKSUM_MISMATCH",
        retryable: false,
        endpoint: host,
      });
    }
    if (file.extract === "tar") await extractTar(bytes, url, folder);
    await writeFileAtomically(target, bytes);
    if (file.sha256 === undefined) {
      recorded[file.target] = actual;
      await writeFileAtomically(checksumsPath, Buffer.from(`${JSON.stringify(recorded, null, 2)}\n`));
    }
  }
  return join(folder, source.root);
}

function urlOf(file: DatasetFile, host: string): string {
  const encoded = file.path.split("/").map(encodeURIComponent).join("/");
  return `${host.replace(/\/+$/, "")}/${file.host === "hugging-face" ? "datasets/" : ""}${encoded}`;
}

/** Writes a tar archive's files into `folder` (each file through a temporary name and a rename). */
async function extractTar(archive: Buffer, source: string, folder: string): Promise<void> {
  for (const entry of readTarEntries({ archive, file: source })) {
    await writeFileAtomically(join(folder, entry.path), entry.content);
  }
}

async function fetchBytes({
  url,
  timeoutMs,
  signal,
  endpoint,
}: {
  url: string;
  timeoutMs: number;
  signal: AbortSignal | undefined;
  endpoint: string;
}): Promise<Buffer> {
  const timeout = AbortSignal.timeout(timeoutMs);
  let response: Response;
  try {
    response = await fetch(url, { redirect: "follow", signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
    if (!response.ok) {
      throw new ProviderError(`${url}: the server answered ${response.status}`, {
        code: "DOWNLOAD_FAILED",
        status: response.status,
        retryable: response.status === 429 || response.status >= 500,
        endpoint,
      });
    }
    return Buffer.from(await response.arrayBuffer());
  } catch (error) {
    if (error instanceof ProviderError) throw error;
    if (signal?.aborted) throw new CancelledError(`download of ${url} cancelled`);
    const reason = timeout.aborted ? `no answer within ${timeoutMs} ms` : (error as Error).message;
    throw new ProviderError(`cannot download ${url}: ${reason}; check the network or the endpoint`, {
      code: "DOWNLOAD_FAILED",
      retryable: true,
      endpoint,
      cause: error,
    });
  }
}

async function readChecksums(path: string): Promise<Record<string, string>> {
  const text = await readFile(path, "utf8").catch(() => undefined);
  if (text === undefined) return {};
  try {
    return JSON.parse(text) as Record<string, string>;
  } catch (cause) {
    throw new InputError("not valid JSON; delete it and the files beside it to download again", { file: path, cause });
  }
}

async function writeFileAtomically(path: string, bytes: Buffer): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = temporarySiblingPath({ path });
  try {
    await writeFile(temporary, bytes);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}
