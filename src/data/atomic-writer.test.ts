import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAtomicWriter, writeAtomically } from "./atomic-writer.js";

let directory: string;
beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), "data-atomic-"));
});
afterEach(() => {
  rmSync(directory, { recursive: true, force: true });
});

describe("atomic writer", () => {
  it("shows nothing at the path until commit, then the whole content", async () => {
    const path = join(directory, "nested", "out.txt");
    const writer = createAtomicWriter({ path, bufferBytes: 4 });
    await writer.write("hello ");
    await writer.write(Buffer.from("w\u00f6rld"));
    expect(existsSync(path)).toBe(false);
    await writer.commit();
    expect(readFileSync(path, "utf8")).toBe("hello w\u00f6rld");
    expect(readdirSync(join(directory, "nested"))).toEqual(["out.txt"]);
  });

  it("keeps the old file and removes the temporary one when writing fails", async () => {
    const path = join(directory, "out.txt");
    writeFileSync(path, "old");
    await expect(
      writeAtomically({ path }, async (writer) => {
        await writer.write("new partial");
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(readFileSync(path, "utf8")).toBe("old");
    expect(readdirSync(directory)).toEqual(["out.txt"]);
  });

  it("compresses when the path ends in .gz", async () => {
    const path = join(directory, "out.jsonl.gz");
    await writeAtomically({ path }, async (writer) => {
      for (let index = 0; index < 1000; index += 1) await writer.write(`line ${index}\n`);
    });
    const text = gunzipSync(readFileSync(path)).toString("utf8");
    expect(text.split("\n")).toHaveLength(1001);
    expect(text.startsWith("line 0\nline 1\n")).toBe(true);
  });
});
