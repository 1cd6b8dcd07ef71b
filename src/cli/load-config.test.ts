import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { resolveCacheDirectory } from "./cache-directory.js";
import { loadConfig } from "./load-config.js";

function directoryWith(content?: string): string {
  const directory = mkdtempSync(join(tmpdir(), "sa-config-"));
  if (content !== undefined) writeFileSync(join(directory, "stable-alignment.config.yaml"), content);
  return directory;
}

describe("loadConfig", () => {
  it("returns an empty config when no file is present", () => {
    expect(loadConfig({ cwd: directoryWith() })).toEqual({ config: {}, file: undefined });
  });

  it("reads the default file and validates fields", () => {
    const cwd = directoryWith(
      "models:\n  agent: openai:gpt-4o-mini\nbudgetUsd: 2.5\nprices:\n  my-model: { prompt: 1, completion: 2 }\n",
    );
    const { config, file } = loadConfig({ cwd });
    expect(file).toBe(join(cwd, "stable-alignment.config.yaml"));
    expect(config.models?.agent).toBe("openai:gpt-4o-mini");
    expect(config.budgetUsd).toBe(2.5);
    expect(config.prices?.["my-model"]).toEqual({ prompt: 1, completion: 2 });
  });

  it("names the file and the field of an invalid value", () => {
    const cwd = directoryWith("endpoints:\n  maxConcurrency: -3\n");
    expect(() => loadConfig({ cwd })).toThrow(/stable-alignment\.config\.yaml: field "endpoints\.maxConcurrency"/);
  });

  it("names unknown keys", () => {
    const cwd = directoryWith("modles:\n  agent: x\n");
    expect(() => loadConfig({ cwd })).toThrow(/modles/);
  });

  it("reports broken YAML and a missing --config file", () => {
    expect(() => loadConfig({ cwd: directoryWith("models: [unclosed\n") })).toThrow(/not valid YAML/);
    expect(() => loadConfig({ cwd: directoryWith(), file: "absent.yaml" })).toThrow(/absent\.yaml does not exist/);
  });
});

describe("resolveCacheDirectory", () => {
  it("prefers STABLE_ALIGNMENT_CACHE, then the config, then XDG, then ~/.cache", () => {
    expect(
      resolveCacheDirectory({ environment: { STABLE_ALIGNMENT_CACHE: "/a", XDG_CACHE_HOME: "/x" }, configured: "/c" }),
    ).toBe("/a");
    expect(resolveCacheDirectory({ environment: { XDG_CACHE_HOME: "/x" }, configured: "/c" })).toBe("/c");
    expect(resolveCacheDirectory({ environment: { XDG_CACHE_HOME: "/x" } })).toBe("/x/stable-alignment");
    expect(resolveCacheDirectory({ environment: {} })).toMatch(/\.cache\/stable-alignment$/);
  });
});
