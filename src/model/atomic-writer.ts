/**
 * The one atomic writer of files and directories: the content goes to a temporary sibling (named by
 * `temporarySiblingPath`) that is renamed over the target only when the whole write succeeded, so a
 * failed or killed command never leaves a truncated file, or new files beside old ones, behind.
 * Streams (`createAtomicWriter`, `writeAtomically`, gzip optional), small whole files
 * (`writeFileAtomically`), random-access files (`writeFileHandleAtomically`: GGUF, safetensors) and
 * directories (`writeDirectoryAtomically`). It lives in the model layer, the lowest that writes
 * files, so model, data, sandbox, train and the CLI share it.
 */
import {
  closeSync,
  createWriteStream,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { type FileHandle, open, rename, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type { Writable } from "node:stream";
import { finished, pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { ConfigError, InputError } from "../spec/errors.js";
import { removeStaleTemporaries, type TemporarySuffix, temporarySiblingPath } from "./temporary-path.js";

/** A buffered writer whose content appears at `path` only after `commit()`. */
export interface AtomicWriter {
  /** The final path. */
  readonly path: string;
  /** The temporary path written until commit. */
  readonly temporaryPath: string;
  /** Appends text or bytes; resolves once the data is buffered (waits when the disk is behind). */
  write(data: string | Buffer): Promise<void>;
  /** Flushes, closes and renames the temporary file to `path`. */
  commit(): Promise<void>;
  /** Discards the temporary file; safe to call after a failure or twice. */
  abort(): Promise<void>;
}

/**
 * Opens a temporary file beside `path` (creating missing parent folders). Output is gzip-compressed
 * when `gzip` is true, by default when `path` ends in `.gz`. `bufferBytes` (default 256 KiB) batches
 * small writes.
 */
export function createAtomicWriter({
  path,
  gzip = path.endsWith(".gz"),
  bufferBytes = 1 << 18,
}: {
  path: string;
  gzip?: boolean;
  bufferBytes?: number;
}): AtomicWriter {
  const directory = dirname(path);
  try {
    mkdirSync(directory, { recursive: true });
  } catch (error) {
    throw new InputError(`cannot create the output folder: ${(error as Error).message}`, { file: path, cause: error });
  }
  // Temporary files of writers killed before (pid dead) are removed; a live writer's are kept.
  removeStaleTemporaries({ directory });
  const temporaryPath = temporarySiblingPath({ path });
  const file = createWriteStream(temporaryPath);
  let head: Writable = file;
  let done: Promise<void>;
  if (gzip) {
    const compressor = createGzip();
    head = compressor;
    done = pipeline(compressor, file);
  } else {
    done = finished(file);
  }
  let failure: Error | undefined;
  // Attached at once so a disk error before commit is kept, not reported as an unhandled rejection.
  done.catch((error: Error) => {
    failure ??= error;
  });
  let pieces: (string | Buffer)[] = [];
  let pendingBytes = 0;
  let state: "open" | "committed" | "aborted" = "open";

  const fail = (error: Error): never => {
    throw new InputError(`cannot write output: ${error.message}`, { file: path, cause: error });
  };
  const flush = async (): Promise<void> => {
    if (pieces.length === 0) return;
    const chunk =
      pieces.length === 1 && typeof pieces[0] !== "string"
        ? (pieces[0] as Buffer)
        : Buffer.concat(pieces.map((piece) => (typeof piece === "string" ? Buffer.from(piece, "utf8") : piece)));
    pieces = [];
    pendingBytes = 0;
    if (!head.write(chunk)) {
      await new Promise<void>((resolve) => {
        const settle = (): void => {
          head.off("drain", settle);
          head.off("error", settle);
          head.off("close", settle);
          resolve();
        };
        head.on("drain", settle);
        head.on("error", settle);
        head.on("close", settle);
      });
    }
    if (failure) fail(failure);
  };

  return {
    path,
    temporaryPath,
    async write(data: string | Buffer): Promise<void> {
      if (state !== "open") throw new Error(`writer for ${path} is ${state}`);
      if (failure) fail(failure);
      pieces.push(data);
      pendingBytes += typeof data === "string" ? data.length : data.length;
      if (pendingBytes >= bufferBytes) await flush();
    },
    async commit(): Promise<void> {
      if (state !== "open") throw new Error(`writer for ${path} is ${state}`);
      try {
        await flush();
        head.end();
        await done;
        if (failure) fail(failure);
        renameSync(temporaryPath, path);
        state = "committed";
      } catch (error) {
        await this.abort();
        if (error instanceof InputError) throw error;
        fail(error as Error);
      }
    },
    async abort(): Promise<void> {
      if (state === "committed" || state === "aborted") return;
      state = "aborted";
      head.destroy();
      file.destroy();
      await done.catch(() => undefined);
      rmSync(temporaryPath, { force: true });
    },
  };
}

/**
 * Runs `write` with a fresh atomic writer: commits when it resolves, discards the temporary file and
 * rethrows when it throws. Returns what `write` returned.
 */
export async function writeAtomically<T>(
  options: { path: string; gzip?: boolean },
  write: (writer: AtomicWriter) => Promise<T>,
): Promise<T> {
  const writer = createAtomicWriter(options);
  let result: T;
  try {
    result = await write(writer);
  } catch (error) {
    await writer.abort();
    throw error;
  }
  await writer.commit();
  return result;
}

/**
 * Writes `data` (text as UTF-8, or bytes) to a temporary sibling of `path`, flushes it to disk and
 * renames it over `path`, synchronously; the temporary file is removed when any step fails. For
 * small files (config.json, training.json, a rewritten records.jsonl). Leftovers of killed writers
 * in the folder are removed first.
 */
export function writeFileAtomically({ path, data }: { path: string; data: string | Uint8Array }): void {
  removeStaleTemporaries({ directory: dirname(path) });
  const temporary = temporarySiblingPath({ path });
  try {
    const descriptor = openSync(temporary, "w");
    try {
      if (data.length > 0) writeSync(descriptor, typeof data === "string" ? Buffer.from(data, "utf8") : data);
      fsyncSync(descriptor);
    } finally {
      closeSync(descriptor);
    }
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

/**
 * Runs `write` on an open handle of a fresh temporary sibling of `path` (suffix `partial` by
 * default) and renames it over `path` when `write` resolves; closes and removes it when `write`
 * throws. For files written at offsets (GGUF, safetensors). Returns what `write` returned.
 */
export async function writeFileHandleAtomically<T>(
  { path, suffix = "partial" }: { path: string; suffix?: TemporarySuffix },
  write: (handle: FileHandle) => Promise<T>,
): Promise<T> {
  // Leftovers of a writer killed here before are removed first (only those whose pid is dead).
  removeStaleTemporaries({ directory: dirname(path) });
  const temporaryPath = temporarySiblingPath({ path, suffix });
  const handle = await open(temporaryPath, "w");
  try {
    const result = await write(handle);
    await handle.close();
    await rename(temporaryPath, path);
    return result;
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(temporaryPath, { force: true });
    throw error;
  }
}

/**
 * Runs `write` on a fresh temporary sibling of `directory` and renames it to `directory` when
 * `write` resolves; removes it when `write` throws. An existing non-empty `directory` is refused
 * (a ConfigError naming `flag`, default `--out`) unless `replace` (default false) is set, in which
 * case it is moved aside, the new one renamed in and the old one removed. `replaceableIfHolds`
 * (default: any) names a file an existing directory must hold to be replaced, so that `--force`
 * with a mistaken path (a home folder) is refused instead of deleting it. Leftovers of killed
 * writers beside `directory` are cleaned first. Returns what `write` returned.
 */
export async function writeDirectoryAtomically<T>(
  {
    directory,
    replace = false,
    replaceableIfHolds,
    flag = "--out",
  }: { directory: string; replace?: boolean; replaceableIfHolds?: string; flag?: string },
  write: (temporaryDirectory: string) => Promise<T>,
): Promise<T> {
  const target = resolve(directory);
  mkdirSync(dirname(target), { recursive: true });
  removeStaleTemporaries({ directory: dirname(target) });
  const occupied = () => existsSync(target) && !isEmptyDirectory(target);
  const refuse = () => {
    throw new ConfigError(`${flag} ${target} already exists; add --force to replace it, or choose another path`, {
      field: flag,
    });
  };
  if (occupied() && !replace) refuse();
  if (occupied() && replaceableIfHolds !== undefined && !existsSync(join(target, replaceableIfHolds))) {
    throw new ConfigError(
      `${flag} ${target} holds no ${replaceableIfHolds}, so it is not replaced even with --force; choose another path`,
      { field: flag },
    );
  }
  const temporary = temporarySiblingPath({ path: target });
  mkdirSync(temporary);
  let result: T;
  try {
    result = await write(temporary);
    if (!existsSync(target)) {
      renameSync(temporary, target);
    } else if (!occupied()) {
      rmSync(target, { recursive: true });
      renameSync(temporary, target);
    } else {
      if (!replace) refuse();
      const aside = temporarySiblingPath({ path: target, suffix: "old" });
      renameSync(target, aside);
      renameSync(temporary, target);
      rmSync(aside, { recursive: true, force: true });
    }
  } catch (error) {
    rmSync(temporary, { recursive: true, force: true });
    throw error;
  }
  return result;
}

function isEmptyDirectory(path: string): boolean {
  return statSync(path).isDirectory() && readdirSync(path).length === 0;
}
