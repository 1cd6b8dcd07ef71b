/**
 * The nodes of an experiment: each step of each generation, keyed by the content hash of its inputs
 * (its recipe section, the content of the files it reads, the hashes of the nodes it builds on and
 * {@link EXPERIMENT_FORMAT_VERSION}). A node lives in `<out>/nodes/<name>-<hash>/`; a changed input
 * changes its hash and so the hash of every node downstream, and nothing else.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../spec/errors.js";
import { type Recipe, recipePath } from "./recipe.js";

/**
 * Version of what the nodes compute and how they store it; part of every hash, so a release that
 * changes either reruns everything. Bump when a step's code or output format changes meaning.
 */
export const EXPERIMENT_FORMAT_VERSION = 1;

/** The steps a node can be. */
export type NodeKind = "model-init" | "society" | "data" | "train" | "export" | "evaluation";

/** One node of the plan. */
export interface ExperimentNode {
  /** `society-1`, `train-2`, `evaluation-0` (the start model), `model-init`. */
  name: string;
  kind: NodeKind;
  /** Generation 1..N; 0 for the start model's nodes. */
  generation: number;
  /** First 16 hex digits of the SHA-256 of the inputs. */
  hash: string;
  /** `<out>/nodes/<name>-<hash>`. */
  directory: string;
  /** Names of the nodes whose outputs this one reads. */
  upstream: string[];
}

function fileDigest(path: string, field: string): string {
  if (path === "starter") return "starter";
  try {
    return createHash("sha256").update(readFileSync(path)).digest("hex");
  } catch (cause) {
    throw new ConfigError(`recipe field "${field}": cannot read ${path} (${(cause as Error).message})`, {
      field,
      cause,
    });
  }
}

/** Drops the settings that change speed but not results (threads) before hashing. */
function withoutThreads<T extends object>(section: T): Omit<T, "threads"> {
  const { threads: _threads, ...rest } = section as T & { threads?: unknown };
  return rest;
}

/** The nodes of `recipe` in the order they run, with `<out>/nodes/...` directories. */
export function planNodes({
  recipe,
  recipeDirectory,
  out,
}: {
  recipe: Recipe;
  /** The folder the recipe's paths are relative to. */
  recipeDirectory: string;
  /** The experiment directory. */
  out: string;
}): ExperimentNode[] {
  const nodes: ExperimentNode[] = [];
  const byName = new Map<string, ExperimentNode>();
  const add = (name: string, kind: NodeKind, generation: number, inputs: unknown, upstream: string[]) => {
    const hash = createHash("sha256")
      .update(
        JSON.stringify({
          version: EXPERIMENT_FORMAT_VERSION,
          kind,
          generation,
          inputs,
          upstream: upstream.map((name) => byName.get(name)?.hash),
        }),
      )
      .digest("hex")
      .slice(0, 16);
    const node = { name, kind, generation, hash, directory: join(out, "nodes", `${name}-${hash}`), upstream };
    nodes.push(node);
    byName.set(name, node);
    return node;
  };
  const { society, training, evaluation } = recipe;
  const societyFiles = {
    questions: fileDigest(recipePath(recipeDirectory, society.questions), "society.questions"),
    prior: fileDigest(recipePath(recipeDirectory, society.prior), "society.prior"),
  };
  const evaluationFiles = [
    ...evaluation.benchmarks.map((benchmark, index) =>
      benchmark.data === undefined
        ? "download"
        : fileDigestOrFolder(recipePath(recipeDirectory, benchmark.data), `evaluation.benchmarks.${index}.data`),
    ),
    ...(evaluation.judge?.benchmarks ?? []).map((benchmark, index) =>
      benchmark.data === undefined
        ? benchmark.name === "sandbox"
          ? societyFiles.questions
          : "download"
        : fileDigestOrFolder(recipePath(recipeDirectory, benchmark.data), `evaluation.judge.benchmarks.${index}.data`),
    ),
  ];
  let start: string[] = [];
  if ("init" in training.start) {
    const tokenizerFiles = (training.start.tokenizerFiles ?? []).map((path, index) =>
      fileDigest(recipePath(recipeDirectory, path), `training.start.tokenizerFiles.${index}`),
    );
    // The default tokenizer corpus is the society's questions and prior.
    const corpus = training.start.tokenizerFiles === undefined && training.start.tokenizer === undefined;
    add(
      "model-init",
      "model-init",
      0,
      { start: training.start, tokenizerFiles, ...(corpus ? { corpus: societyFiles } : {}) },
      [],
    );
    start = ["model-init"];
  }
  add(
    "evaluation-0",
    "evaluation",
    0,
    { evaluation: withoutThreads(evaluation), evaluationFiles, start: training.start },
    start,
  );
  let model = start;
  let served: string[] = [];
  for (let generation = 1; generation <= recipe.generations; generation += 1) {
    add(
      `society-${generation}`,
      "society",
      generation,
      {
        society,
        societyFiles,
        // The slice a generation draws depends on the generation count only when it is the pool split evenly.
        slice: society.questionsPerGeneration ?? { splitInto: recipe.generations },
      },
      served,
    );
    add(`data-${generation}`, "data", generation, { data: recipe.data }, [`society-${generation}`]);
    add(`train-${generation}`, "train", generation, { training: withoutThreads(training) }, [
      `data-${generation}`,
      ...model,
    ]);
    model = [`train-${generation}`];
    add(
      `evaluation-${generation}`,
      "evaluation",
      generation,
      { evaluation: withoutThreads(evaluation), evaluationFiles },
      model,
    );
    if (generation < recipe.generations) {
      // A `local` model serves straight from its training run; a GGUF one is exported first.
      if (recipe.serving.kind !== "local") {
        add(`export-${generation}`, "export", generation, { serving: withoutThreads(recipe.serving) }, model);
        served = [`export-${generation}`];
      } else {
        served = model;
      }
    }
  }
  return nodes;
}

/** A file's digest, or for a folder the digests of its files by name (benchmark data may be a folder). */
function fileDigestOrFolder(path: string, field: string): unknown {
  try {
    return fileDigest(path, field);
  } catch (error) {
    if (!statSync(path, { throwIfNoEntry: false })?.isDirectory()) throw error;
    return Object.fromEntries(
      readdirSync(path, { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => {
          const file = join(entry.parentPath, entry.name);
          return [file.slice(path.length), fileDigest(file, field)];
        })
        .sort(([a], [b]) => String(a).localeCompare(String(b))),
    );
  }
}
