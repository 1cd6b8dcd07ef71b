import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { removeStaleTemporaries, temporarySiblingPath } from "./temporary-path.js";

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["--eval", ""], { stdio: "ignore" });
  await new Promise((resolve) => child.once("exit", resolve));
  return child.pid as number;
}

describe("temporary paths", () => {
  it("names a hidden sibling carrying this process's pid", () => {
    const path = temporarySiblingPath({ path: "/data/out/model.gguf", suffix: "partial" });
    expect(dirname(path)).toBe("/data/out");
    expect(basename(path)).toMatch(new RegExp(`^\\.model\\.gguf\\.${process.pid}\\.[0-9a-f]{8}\\.partial$`));
    expect(temporarySiblingPath({ path: "/a/b" })).not.toBe(temporarySiblingPath({ path: "/a/b" }));
  });

  it("removes a dead writer's leftovers, keeps a live one's and other files, restores a moved-aside directory", async () => {
    const directory = mkdtempSync(join(tmpdir(), "temporary-path-"));
    const dead = await deadPid();
    const deadFile = join(directory, `.model.gguf.${dead}.0123abcd.partial`);
    const deadSpill = join(directory, `.stable-alignment-group.${dead}.89abcdef.spill`);
    const liveFile = temporarySiblingPath({ path: join(directory, "data.json") });
    const movedAside = join(directory, `.model.${dead}.00000000.old`);
    for (const path of [deadFile, liveFile, join(directory, ".hidden.12.txt"), join(directory, "data.json")]) {
      writeFileSync(path, "x");
    }
    mkdirSync(deadSpill);
    writeFileSync(join(deadSpill, "bucket-0.jsonl"), "spilled");
    mkdirSync(movedAside);
    writeFileSync(join(movedAside, "config.json"), "{}");
    const handled = removeStaleTemporaries({ directory });
    expect(handled.sort()).toEqual([deadFile, deadSpill, movedAside].sort());
    expect(readdirSync(directory).sort()).toEqual([".hidden.12.txt", basename(liveFile), "data.json", "model"].sort());
    expect(readFileSync(join(directory, "model", "config.json"), "utf8")).toBe("{}");
    expect(existsSync(deadSpill)).toBe(false);
    expect(removeStaleTemporaries({ directory: join(directory, "missing") })).toEqual([]);
  });
});
