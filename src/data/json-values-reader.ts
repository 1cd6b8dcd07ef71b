/**
 * Streams the top-level values of a data file that is either a JSON array of objects (the reference
 * training format, however it is indented) or JSON Lines, without holding the file in memory. Each
 * value comes with the line it starts on, so errors can name the file and line.
 */
import { InputError } from "../spec/errors.js";
import { openContentStream, readError, readLines } from "./line-reader.js";

/** One parsed top-level value and the 1-based line where it starts. */
export interface LocatedValue {
  value: unknown;
  line: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;

function isWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/** Whether the file's first non-blank character is `[` (a JSON array) rather than a JSON Lines record. */
async function startsWithBracket(path: string): Promise<boolean> {
  const stream = openContentStream({ path, chunkBytes: 1 << 16 });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      for (let index = 0; index < chunk.length; index += 1) {
        const byte = chunk[index] as number;
        if (isWhitespace(byte) || byte === 0xef || byte === 0xbb || byte === 0xbf) continue;
        return byte === OPEN_BRACKET;
      }
    }
    return false;
  } catch (error) {
    throw readError(error, path);
  } finally {
    stream.destroy();
  }
}

/**
 * Yields every top-level value of `path`: the elements of a JSON array, or the non-blank lines of
 * JSON Lines (gzip read directly). Elements of an array must be objects. Throws InputError with the
 * file and line for malformed JSON or a truncated array.
 */
export async function* readJsonValues({
  path,
  chunkBytes = 1 << 20,
}: {
  path: string;
  /** Read size in bytes; default 1 MiB. */
  chunkBytes?: number;
}): AsyncGenerator<LocatedValue> {
  if (!(await startsWithBracket(path))) {
    for await (const { text, line } of readLines({ path, chunkBytes })) {
      if (text.trim() === "") continue;
      yield { value: parseJson(text, path, line), line };
    }
    return;
  }
  yield* readJsonArray(path, chunkBytes);
}

function parseJson(text: string, file: string, line: number): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new InputError(`malformed JSON: ${(error as Error).message}`, { file, line, cause: error });
  }
}

/**
 * A byte scanner that tracks only what it must (string, escape, nesting depth) to find where each
 * array element starts and ends; strings are skipped with native `indexOf`, which keeps the scan fast
 * on text-heavy rows. Each element is then handed to JSON.parse.
 */
async function* readJsonArray(file: string, chunkBytes: number): AsyncGenerator<LocatedValue> {
  const stream = openContentStream({ path: file, chunkBytes });
  let line = 1;
  let depth = 0; // 0: before the array; 1: inside it, between elements; 2+: inside an element
  let inString = false;
  let escapeNext = false;
  let closed = false;
  let elementLine = 0;
  let elementPieces: Buffer[] = [];
  let elementStart = -1;
  let expectElement = true;
  const fail = (message: string, atLine = line): never => {
    throw new InputError(message, { file, line: atLine });
  };
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let index = 0;
      const length = chunk.length;
      // Positions of the next quote and backslash, reused until passed: a long string with many
      // escapes would otherwise be rescanned once per escape.
      let nextQuote = -2;
      let nextBackslash = -2;
      while (index < length) {
        if (inString) {
          if (escapeNext) {
            escapeNext = false;
            index += 1;
            continue;
          }
          if (nextQuote !== -1 && nextQuote < index) nextQuote = chunk.indexOf(QUOTE, index);
          if (nextBackslash !== -1 && nextBackslash < index) nextBackslash = chunk.indexOf(BACKSLASH, index);
          const quote = nextQuote;
          const backslash = nextBackslash;
          if (backslash !== -1 && (quote === -1 || backslash < quote)) {
            index = backslash + 1;
            escapeNext = true;
            continue;
          }
          if (quote === -1) {
            index = length;
            continue;
          }
          inString = false;
          index = quote + 1;
          continue;
        }
        const byte = chunk[index] as number;
        if (byte === NEWLINE) {
          line += 1;
        } else if (closed) {
          if (!isWhitespace(byte)) fail("unexpected content after the end of the JSON array");
        } else if (depth === 0) {
          if (byte === OPEN_BRACKET) depth = 1;
          else if (!isWhitespace(byte) && !(line === 1 && (byte === 0xef || byte === 0xbb || byte === 0xbf)))
            fail("expected a JSON array");
        } else if (depth === 1) {
          if (byte === OPEN_BRACE) {
            if (!expectElement) fail("expected ',' between array elements");
            depth = 2;
            elementStart = index;
            elementLine = line;
            expectElement = false;
          } else if (byte === COMMA) {
            if (expectElement) fail("unexpected ',' in the JSON array");
            expectElement = true;
          } else if (byte === CLOSE_BRACKET) {
            closed = true;
            depth = 0;
          } else if (!isWhitespace(byte)) {
            fail("every element of the JSON array must be an object");
          }
        } else if (byte === QUOTE) {
          inString = true;
        } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
          depth += 1;
        } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
          depth -= 1;
          if (depth === 1) {
            const end = index + 1;
            let text: string;
            if (elementPieces.length > 0) {
              elementPieces.push(chunk.subarray(0, end));
              text = Buffer.concat(elementPieces).toString("utf8");
              elementPieces = [];
            } else {
              text = chunk.toString("utf8", elementStart, end);
            }
            elementStart = -1;
            yield { value: parseJson(text, file, elementLine), line: elementLine };
          }
        }
        index += 1;
      }
      if (depth >= 2) {
        // The element continues in the next chunk; keep its bytes from here on.
        elementPieces.push(elementStart >= 0 ? chunk.subarray(elementStart) : chunk);
        elementStart = 0;
      }
    }
  } catch (error) {
    throw readError(error, file, line);
  } finally {
    stream.destroy();
  }
  if (depth >= 2) fail("unexpected end of file inside an array element", elementLine);
  if (!closed) fail("unexpected end of file: the JSON array is not closed");
}
