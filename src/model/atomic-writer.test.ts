import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError } from "../spec/errors.js";
import {
  createAtomicWriter,
  writeAtomically,
  writeDirectoryAtomically,
  writeFileAtomically,
  writeFileHandleAtomically,
} from "./atomic-writer.js";

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

describe("writeFileAtomically and writeFileHandleAtomically", () => {
  it("replace a file whole, and leave the old one and no temporary file when the write fails", async () => {
    const path = join(directory, "config.json");
    writeFileAtomically({ path, data: "old\n" });
    writeFileAtomically({ path, data: "new\n" });
    expect(readFileSync(path, "utf8")).toBe("new\n");
    writeFileAtomically({ path: join(directory, "empty"), data: "" });
    expect(readFileSync(join(directory, "empty"), "utf8")).toBe("");
    const size = await writeFileHandleAtomically({ path }, async (handle) => {
      await handle.write(Buffer.from("xyz"), 0, 3, 4);
      await handle.write(Buffer.from("abcd"), 0, 4, 0);
      return 7;
    });
    expect(size).toBe(7);
    expect(readFileSync(path, "utf8")).toBe("abcdxyz");
    await expect(
      writeFileHandleAtomically({ path }, async (handle) => {
        await handle.write(Buffer.from("half"));
        throw new Error("disk full");
      }),
    ).rejects.toThrow("disk full");
    expect(readFileSync(path, "utf8")).toBe("abcdxyz");
    expect(() => writeFileAtomically({ path: join(directory, "missing", "x.json"), data: "x" })).toThrow();
    expect(readdirSync(directory).sort()).toEqual(["config.json", "empty"]);
  });
});

const newRoot = () => mkdtempSync(join(tmpdir(), "atomic-directory-"));

describe("writeDirectoryAtomically", () => {
  it("shows the directory only once complete, and leaves the old one whole when the write fails", async () => {
    const root = newRoot();
    const target = join(root, "model");
    const result = await writeDirectoryAtomically({ directory: target }, async (temporary) => {
      writeFileSync(join(temporary, "config.json"), "old config");
      writeFileSync(join(temporary, "model.safetensors"), "old weights");
      expect(existsSync(target)).toBe(false);
      return 7;
    });
    expect(result).toBe(7);
    await expect(
      writeDirectoryAtomically({ directory: target, replace: true }, async (temporary) => {
        writeFileSync(join(temporary, "config.json"), "new config");
        throw new Error("killed before the weights");
      }),
    ).rejects.toThrow("killed before the weights");
    expect(readFileSync(join(target, "config.json"), "utf8")).toBe("old config");
    expect(readFileSync(join(target, "model.safetensors"), "utf8")).toBe("old weights");
    expect(readdirSync(root)).toEqual(["model"]);
  });

  it("refuses an existing non-empty directory unless replace, then swaps it whole", async () => {
    const root = newRoot();
    const target = join(root, "model");
    mkdirSync(target);
    writeFileSync(join(target, "config.json"), "old config");
    writeFileSync(join(target, "extra.txt"), "old");
    let written = false;
    const attempt = writeDirectoryAtomically({ directory: target }, async () => {
      written = true;
    });
    await expect(attempt).rejects.toBeInstanceOf(ConfigError);
    await expect(attempt).rejects.toThrow(/--out .*model already exists; add --force to replace it/);
    expect(written).toBe(false);
    await writeDirectoryAtomically({ directory: target, replace: true }, async (temporary) => {
      writeFileSync(join(temporary, "config.json"), "new config");
    });
    expect(readdirSync(target)).toEqual(["config.json"]);
    expect(readFileSync(join(target, "config.json"), "utf8")).toBe("new config");
    expect(readdirSync(root).sort()).toEqual(["model"]);
    // With replaceableIfHolds, a directory that is not a model is never replaced.
    const home = join(root, "home");
    mkdirSync(home);
    writeFileSync(join(home, "notes.txt"), "keep");
    await expect(
      writeDirectoryAtomically({ directory: home, replace: true, replaceableIfHolds: "config.json" }, async () => {}),
    ).rejects.toThrow(/home holds no config\.json, so it is not replaced even with --force/);
    expect(readdirSync(home)).toEqual(["notes.txt"]);
    // An existing empty directory is not a model: nothing to protect.
    const empty = join(root, "empty");
    mkdirSync(empty);
    await writeDirectoryAtomically({ directory: empty }, async (temporary) => {
      writeFileSync(join(temporary, "config.json"), "{}");
    });
    expect(readdirSync(empty)).toEqual(["config.json"]);
  });
});
