import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * The import rules of ARCHITECTURE.md, enforced: a layer imports only the layers below it (and spec),
 * never one above or beside it. Tests (and test-support folders) may also import the test kit.
 */
const ALLOWED: Record<string, readonly string[]> = {
  spec: [],
  engine: ["spec"],
  model: ["engine", "spec"],
  store: ["spec"],
  llm: ["model", "engine", "spec"],
  data: ["llm", "store", "model", "engine", "spec"],
  sandbox: ["data", "llm", "store", "model", "engine", "spec"],
  train: ["data", "llm", "store", "model", "engine", "spec"],
  eval: ["data", "llm", "store", "model", "engine", "spec"],
  "test-kit": ["llm", "model", "engine", "spec"],
  cli: ["sandbox", "train", "eval", "data", "llm", "store", "model", "engine", "spec", "test-kit"],
};

const sourceRoot = fileURLToPath(new URL(".", import.meta.url));

function typeScriptFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return entry.name === "__fixtures__" ? [] : typeScriptFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

describe("layering", () => {
  it("every import goes down the layers of ARCHITECTURE.md", () => {
    const violations: string[] = [];
    let checked = 0;
    for (const file of typeScriptFiles(sourceRoot)) {
      const layer = relative(sourceRoot, file).split("/")[0] ?? "";
      const allowed = ALLOWED[layer];
      if (allowed === undefined) continue; // src/index.ts and top-level tests may import anything
      const isTest = file.endsWith(".test.ts") || file.includes("/test-support/");
      const source = readFileSync(file, "utf8");
      for (const match of source.matchAll(
        /(?:import|export)[^"']*?from\s+["'](\.[^"']+)["']|import\(\s*["'](\.[^"']+)["']\s*\)/g,
      )) {
        const specifier = match[1] ?? match[2] ?? "";
        const target = relative(sourceRoot, resolve(file, "..", specifier)).split("/")[0] ?? "";
        checked += 1;
        if (target === layer || target.startsWith("..")) continue;
        if (allowed.includes(target) || (isTest && target === "test-kit")) continue;
        violations.push(`${relative(sourceRoot, file)} imports ${specifier} (${layer} -> ${target})`);
      }
    }
    expect(checked).toBeGreaterThan(200);
    expect(violations).toEqual([]);
  });
});
