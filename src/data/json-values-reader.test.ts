import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InputError } from "../spec/errors.js";
import { readJsonValues } from "./json-values-reader.js";
import { readLines } from "./line-reader.js";

let directory: string;
beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), "data-json-"));
});
afterEach(() => {
  rmSync(directory, { recursive: true, force: true });
});

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

const tricky = [
  { query: 'quote " and backslash \\ and brace } ] [ {', responses: ["a\nb", "\\"], scores: [1, 7.5] },
  { nested: { deep: [1, { x: "}" }] }, text: "\u00e9t\u00e9 \u4e2d\u6587 \ud83d\ude00" },
  {},
];

describe("readJsonValues", () => {
  it("reads array elements with their starting lines at every chunk boundary", async () => {
    const file = join(directory, "data.json");
    const text = `\ufeff[\n  ${JSON.stringify(tricky[0])},\n${JSON.stringify(tricky[1], null, 2)}\n, ${JSON.stringify(tricky[2])}\n]\n`;
    writeFileSync(file, text);
    for (const chunkBytes of [1, 2, 3, 5, 7, 64, 1 << 20]) {
      const values = await collect(readJsonValues({ path: file, chunkBytes }));
      expect(values.map((value) => value.value)).toEqual(tricky);
      expect(values.map((value) => value.line)).toEqual([2, 3, 14]);
    }
  });

  it("reads gzip-compressed arrays and JSON Lines, skipping blank lines", async () => {
    const array = join(directory, "data.json.gz");
    writeFileSync(array, gzipSync(JSON.stringify(tricky)));
    expect((await collect(readJsonValues({ path: array }))).map((value) => value.value)).toEqual(tricky);
    const lines = join(directory, "data.jsonl");
    writeFileSync(lines, `${JSON.stringify(tricky[0])}\r\n\n${JSON.stringify(tricky[1])}`);
    expect(await collect(readJsonValues({ path: lines }))).toEqual([
      { value: tricky[0], line: 1 },
      { value: tricky[1], line: 3 },
    ]);
  });

  it.each([
    ['[\n{"a": 1},\n{"b": ', "unexpected end of file inside an array element", 3],
    ['[{"a": 1}', "the JSON array is not closed", 1],
    ['[{"a": 1} {"b": 2}]', "expected ','", 1],
    ['[{"a": 1},\n "text"]', "must be an object", 2],
    ['[{"a": 1}]\nmore', "after the end of the JSON array", 2],
    ['[{"a": 1},\n\n{"b": tru}]', "malformed JSON", 3],
    ['{"a": 1}\n{"b": \n', "malformed JSON", 2],
  ])("reports %j as %s at its line", async (text, message, line) => {
    const file = join(directory, "bad.json");
    writeFileSync(file, text);
    const error = await collect(readJsonValues({ path: file })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message).toContain(message);
    expect((error as InputError).message.startsWith(`${file}:${line}: `)).toBe(true);
  });
});

describe("readLines", () => {
  it("numbers lines, strips CRLF and a byte-order mark, and keeps a last line without newline", async () => {
    const file = join(directory, "lines.txt");
    writeFileSync(file, "\ufeffone\r\ntwo \u00e9\n\nlast");
    for (const chunkBytes of [1, 3, 1 << 20]) {
      expect(await collect(readLines({ path: file, chunkBytes }))).toEqual([
        { text: "one", line: 1 },
        { text: "two \u00e9", line: 2 },
        { text: "", line: 3 },
        { text: "last", line: 4 },
      ]);
    }
  });

  it("reads gzip directly and names a missing file", async () => {
    const file = join(directory, "lines.bin");
    writeFileSync(file, gzipSync("a\nb\n"));
    expect((await collect(readLines({ path: file }))).map((line) => line.text)).toEqual(["a", "b"]);
    await expect(collect(readLines({ path: join(directory, "nope") }))).rejects.toThrow(
      /nope: cannot read file \(ENOENT\)/,
    );
  });

  it("turns a folder or a corrupt gzip file into an InputError naming it", async () => {
    await expect(collect(readJsonValues({ path: directory }))).rejects.toThrow(
      `${directory}: cannot read file (EISDIR)`,
    );
    const corrupt = join(directory, "cut.json.gz");
    writeFileSync(corrupt, gzipSync(JSON.stringify(tricky)).subarray(0, 30));
    const error = await collect(readJsonValues({ path: corrupt })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message.startsWith(`${corrupt}:`)).toBe(true);
  });
});
