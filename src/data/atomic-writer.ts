/**
 * Output files are written to a temporary file beside the target and renamed over it only when the
 * whole write succeeded, so a failed or interrupted command never leaves a truncated file behind.
 */
import { createWriteStream, mkdirSync, renameSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import type { Writable } from "node:stream";
import { finished, pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { removeStaleTemporaries, temporarySiblingPath } from "../model/temporary-path.js";
import { InputError } from "../spec/errors.js";

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
