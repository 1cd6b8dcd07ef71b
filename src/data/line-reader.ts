/**
 * Streaming line reader for JSONL inputs: yields one line at a time with its 1-based number, reads
 * gzip input directly (detected by its magic bytes, not the file name) and keeps memory to one chunk
 * plus the longest line.
 */
import { closeSync, createReadStream, openSync, readSync } from "node:fs";
import type { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { InputError } from "../spec/errors.js";

/** One line of a text file, without its line terminator. */
export interface SourceLine {
  text: string;
  /** 1-based line number. */
  line: number;
}

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/** Whether the file starts with the gzip magic bytes (1f 8b). Throws InputError when it cannot be read. */
export function isGzipFile(path: string): boolean {
  let descriptor: number | undefined;
  try {
    descriptor = openSync(path, "r");
    const head = Buffer.alloc(2);
    const read = readSync(descriptor, head, 0, 2, 0);
    return read === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } catch (error) {
    throw readError(error, path);
  } finally {
    if (descriptor !== undefined) closeSync(descriptor);
  }
}

/** A read failure as an InputError naming the file (and line, when known); InputErrors pass through. */
export function readError(error: unknown, path: string, line?: number): InputError {
  if (error instanceof InputError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  const detail = code === undefined ? (error as Error).message : `(${code})`;
  return new InputError(`cannot read file ${detail}`, { file: path, line, cause: error });
}

/** A byte stream of the file's content, gunzipped when the file is gzip. Chunk size in bytes, default 1 MiB. */
export function openContentStream({ path, chunkBytes = 1 << 20 }: { path: string; chunkBytes?: number }): Readable {
  const gzip = isGzipFile(path);
  const raw = createReadStream(path, { highWaterMark: chunkBytes });
  if (!gzip) return raw;
  const gunzip = createGunzip({ chunkSize: Math.min(chunkBytes, 1 << 18) });
  raw.on("error", (error) => gunzip.destroy(error));
  return raw.pipe(gunzip);
}

/**
 * Yields the file's lines in order (a final line without newline included; `\r\n` accepted; a UTF-8
 * byte-order mark on line 1 removed). Throws InputError naming the file for unreadable or corrupt input.
 */
export async function* readLines({ path, chunkBytes = 1 << 20 }: { path: string; chunkBytes?: number }) {
  const stream = openContentStream({ path, chunkBytes });
  let pending: Buffer[] = [];
  let line = 0;
  const toText = (buffer: Buffer, start: number, end: number): string => {
    let stop = end;
    if (stop > start && buffer[stop - 1] === CARRIAGE_RETURN) stop -= 1;
    let text = buffer.toString("utf8", start, stop);
    if (line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    return text;
  };
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let start = 0;
      let newline = chunk.indexOf(NEWLINE, start);
      while (newline !== -1) {
        line += 1;
        if (pending.length > 0) {
          pending.push(chunk.subarray(start, newline));
          const joined = Buffer.concat(pending);
          pending = [];
          yield { text: toText(joined, 0, joined.length), line } satisfies SourceLine;
        } else {
          yield { text: toText(chunk, start, newline), line } satisfies SourceLine;
        }
        start = newline + 1;
        newline = chunk.indexOf(NEWLINE, start);
      }
      if (start < chunk.length) pending.push(chunk.subarray(start));
    }
  } catch (error) {
    throw readError(error, path, line + 1);
  } finally {
    stream.destroy();
  }
  if (pending.length > 0) {
    line += 1;
    const joined = Buffer.concat(pending);
    yield { text: toText(joined, 0, joined.length), line } satisfies SourceLine;
  }
}
