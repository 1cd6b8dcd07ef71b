import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * The import rules of ARCHITECTURE.md, enforced: a layer imports only the layers below it (and spec),
 * never one above or beside it. Tests (and test-support folders) may also import the test kit.
 * Also: no source file over 450 lines, and no import cycle (type-only imports count).
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
  web: ["sandbox", "train", "eval", "data", "llm", "store", "model", "engine", "spec"],
  experiment: ["sandbox", "train", "eval", "data", "llm", "store", "model", "engine", "spec"],
  "test-kit": ["llm", "model", "engine", "spec"],
  cli: ["web", "experiment", "sandbox", "train", "eval", "data", "llm", "store", "model", "engine", "spec", "test-kit"],
};

const sourceRoot = fileURLToPath(new URL(".", import.meta.url));

/** Most lines a source file may have (STYLE: about 400; this is the hard limit). */
const MAX_LINES = 450;

function typeScriptFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return entry.name === "__fixtures__" ? [] : typeScriptFiles(path);
    return /\.tsx?$/.test(entry.name) && !entry.name.endsWith(".d.ts") ? [path] : [];
  });
}

const IMPORT_PATTERN = /(?:import|export)[^"']*?from\s+["'](\.[^"']+)["']|import\(\s*["'](\.[^"']+)["']\s*\)/g;

/** The relative specifiers a file imports or re-exports (type-only ones included). */
function relativeImports(source: string): string[] {
  return [...source.matchAll(IMPORT_PATTERN)].map((match) => match[1] ?? match[2] ?? "");
}

/** The source file a relative specifier names (`./x.js` is `./x.ts` or `./x.tsx`), if it exists. */
function resolveImport(file: string, specifier: string): string | undefined {
  const base = resolve(file, "..", specifier).replace(/\.js$/, "");
  return [`${base}.ts`, `${base}.tsx`, join(base, "index.ts")].find((candidate) => existsSync(candidate));
}

/** Every import cycle of the graph, each once, as the files around it (strongly connected components). */
function importCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const lowLink = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let counter = 0;
  const visit = (node: string): void => {
    index.set(node, counter);
    lowLink.set(node, counter);
    counter += 1;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        lowLink.set(node, Math.min(lowLink.get(node) ?? 0, lowLink.get(next) ?? 0));
      } else if (onStack.has(next)) {
        lowLink.set(node, Math.min(lowLink.get(node) ?? 0, index.get(next) ?? 0));
      }
    }
    if (lowLink.get(node) !== index.get(node)) return;
    const component: string[] = [];
    for (;;) {
      const member = stack.pop() as string;
      onStack.delete(member);
      component.push(member);
      if (member === node) break;
    }
    if (component.length > 1 || (graph.get(node) ?? []).includes(node)) cycles.push(component.sort());
  };
  for (const node of graph.keys()) {
    if (!index.has(node)) visit(node);
  }
  return cycles;
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
      for (const specifier of relativeImports(source)) {
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

  it("scans .ts and .tsx files, not declarations or fixtures", () => {
    const directory = mkdtempSync(join(tmpdir(), "architecture-scan-"));
    mkdirSync(join(directory, "web", "__fixtures__"), { recursive: true });
    for (const name of ["a.ts", "web/page.tsx", "web/types.d.ts", "web/__fixtures__/b.ts", "notes.md"]) {
      writeFileSync(join(directory, name), "");
    }
    expect(
      typeScriptFiles(directory)
        .map((file) => relative(directory, file))
        .sort(),
    ).toEqual(["a.ts", "web/page.tsx"]);
  });

  it(`no source file has more than ${MAX_LINES} lines`, () => {
    const offenders = typeScriptFiles(sourceRoot)
      .map((file) => ({ file: relative(sourceRoot, file), lines: readFileSync(file, "utf8").split("\n").length - 1 }))
      .filter(({ lines }) => lines > MAX_LINES)
      .map(({ file, lines }) => `${file}: ${lines} lines`);
    expect(offenders).toEqual([]);
  });

  it("no import cycle among source files (type-only imports count)", () => {
    const graph = new Map<string, string[]>();
    for (const file of typeScriptFiles(sourceRoot)) {
      const targets = relativeImports(readFileSync(file, "utf8"))
        .map((specifier) => resolveImport(file, specifier))
        .filter((target): target is string => target !== undefined);
      graph.set(file, targets);
    }
    const cycles = importCycles(graph).map((cycle) => cycle.map((file) => relative(sourceRoot, file)).join(" -> "));
    expect(cycles).toEqual([]);
  });

  it("finds a cycle, a self-import and nothing in a tree", () => {
    const cycle = new Map([
      ["a", ["b"]],
      ["b", ["c"]],
      ["c", ["a"]],
      ["d", ["a"]],
    ]);
    expect(importCycles(cycle)).toEqual([["a", "b", "c"]]);
    expect(importCycles(new Map([["a", ["a"]]]))).toEqual([["a"]]);
    expect(
      importCycles(
        new Map([
          ["a", ["b", "c"]],
          ["b", ["c"]],
          ["c", []],
        ]),
      ),
    ).toEqual([]);
  });

  it("every path package.json ships exists, and the prompt files ship from src/llm/prompts", () => {
    const packageRoot = resolve(sourceRoot, "..");
    const manifest = JSON.parse(readFileSync(join(packageRoot, "package.json"), "utf8")) as { files: string[] };
    const missing = manifest.files.filter((path) => path !== "dist" && !existsSync(join(packageRoot, path)));
    expect(missing).toEqual([]);
    expect(manifest.files).toContain("src/llm/prompts/builtin");
    expect(existsSync(join(sourceRoot, "llm", "prompts", "builtin", "observer-alignment.v1.txt"))).toBe(true);
  });
});
