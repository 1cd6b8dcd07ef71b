import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../spec/errors.js";
import { writeDirectoryAtomically } from "./atomic-directory.js";

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
