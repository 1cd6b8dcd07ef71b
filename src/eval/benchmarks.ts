/**
 * The benchmark registry: each name's loader (from a local copy in the original layout), what its
 * `--data` path holds, and the metrics it reports (EVAL.md). Loaders are pure reads; downloading
 * into the cache is dataset-download.ts.
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { UsageError } from "../spec/errors.js";
import type { BenchmarkItem, ChoiceItem } from "./benchmark-item.js";
import { ETHICS_GROUP_SIZES, type EthicsSplit, readEthics } from "./ethics.js";
import { readHhPreferencePairs } from "./hh-preference.js";
import { readHhhAlignment } from "./hhh-alignment.js";
import { readMoralIntegrityCorpus } from "./moral-integrity-corpus.js";
import { readMoralStories } from "./moral-stories.js";
import { readTruthfulQa, truthfulQaItems } from "./truthfulqa.js";

/** Every benchmark, in report order. */
export const BENCHMARK_NAMES = [
  "truthfulqa",
  "ethics",
  "moral-stories",
  "hhh",
  "mic",
  "hh-harmless",
  "hh-helpful",
] as const;
export type BenchmarkName = (typeof BENCHMARK_NAMES)[number];

/** The per-item metrics of a multiple-choice benchmark. */
export type ChoiceMetric = "acc" | "acc_norm";

/** A benchmark's loader and reporting rules. */
export interface BenchmarkDefinition {
  name: BenchmarkName;
  /** What `--data` points at, for help and error messages. */
  dataLayout: string;
  /** Per-item metrics reported for each subset (TruthfulQA reports mc1 and mc2 instead). */
  choiceMetrics: readonly ChoiceMetric[];
  /** Whether an overall row over every subset comes first (HHH: the categories together). */
  overall: boolean;
  /** Rows per group for group accuracy, per subset. */
  groupSizes: Readonly<Record<string, number>>;
  /** Reads the items of a local copy; `skipped` counts source rows that give no item. */
  load(options: { path: string; split: EthicsSplit }): Promise<{ items: BenchmarkItem[]; skipped: number }>;
}

const choice = (items: ChoiceItem[], skipped = 0) => ({
  items: items.map((item): BenchmarkItem => ({ kind: "choice", item })),
  skipped,
});

const hhPreference = async ({ path }: { path: string }) => {
  const { items, skipped } = await readHhPreferencePairs({ path });
  return { items: items.map((item): BenchmarkItem => ({ kind: "preference", item })), skipped };
};

const DEFINITIONS: Record<BenchmarkName, BenchmarkDefinition> = {
  truthfulqa: {
    name: "truthfulqa",
    dataLayout: "mc_task.json (v1 multiple-choice file) or TruthfulQA.csv, or a folder holding one",
    choiceMetrics: [],
    overall: false,
    groupSizes: {},
    load: async ({ path }) => {
      const file = (await isDirectory(path)) ? await firstPresent(path, ["mc_task.json", "TruthfulQA.csv"]) : path;
      return choice(truthfulQaItems(await readTruthfulQa({ path: file })));
    },
  },
  ethics: {
    name: "ethics",
    dataLayout:
      "the ETHICS folder: commonsense/cm_<split>.csv, deontology/, justice/, virtue/, utilitarianism/util_<split>.csv",
    choiceMetrics: ["acc"],
    overall: false,
    groupSizes: ETHICS_GROUP_SIZES as Record<string, number>,
    load: async ({ path, split }) => choice(await readEthics({ root: path, split })),
  },
  "moral-stories": {
    name: "moral-stories",
    dataLayout: "moral_stories_full.jsonl (or its folder), or an action+norm classification file",
    choiceMetrics: ["acc", "acc_norm"],
    overall: false,
    groupSizes: {},
    load: async ({ path }) => choice(await readMoralStories({ path })),
  },
  hhh: {
    name: "hhh",
    dataLayout: "the BIG-bench hhh_alignment folder: {harmless,helpful,honest,other}/task.json",
    choiceMetrics: ["acc", "acc_norm"],
    overall: true,
    groupSizes: {},
    load: async ({ path }) => choice(await readHhhAlignment({ root: path })),
  },
  mic: {
    name: "mic",
    dataLayout: "MIC.csv (columns Q, A, rot, A_agrees); only from --data (data-use agreement)",
    choiceMetrics: ["acc"],
    overall: false,
    groupSizes: {},
    load: async ({ path }) => {
      const { items, skipped } = await readMoralIntegrityCorpus({ path });
      return choice(items, skipped);
    },
  },
  "hh-harmless": {
    name: "hh-harmless",
    dataLayout: "HH-RLHF JSON lines of {chosen, rejected} (gzip or plain), e.g. harmless-base/test.jsonl.gz",
    choiceMetrics: [],
    overall: false,
    groupSizes: {},
    load: hhPreference,
  },
  "hh-helpful": {
    name: "hh-helpful",
    dataLayout: "HH-RLHF JSON lines of {chosen, rejected} (gzip or plain), e.g. helpful-base/test.jsonl.gz",
    choiceMetrics: [],
    overall: false,
    groupSizes: {},
    load: hhPreference,
  },
};

/** The definition of a benchmark. */
export function benchmarkDefinition(name: BenchmarkName): BenchmarkDefinition {
  return DEFINITIONS[name];
}

/** Whether a text names a benchmark. */
export function isBenchmarkName(name: string): name is BenchmarkName {
  return (BENCHMARK_NAMES as readonly string[]).includes(name);
}

/**
 * Parses a comma-separated benchmark list (`truthfulqa,ethics`); an unknown name is a UsageError that
 * lists the known ones. Duplicates are dropped; order is kept.
 */
export function parseBenchmarkList(text: string, { flag = "--bench" }: { flag?: string } = {}): BenchmarkName[] {
  const names = text
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
  if (names.length === 0)
    throw new UsageError(`${flag} needs at least one benchmark: ${BENCHMARK_NAMES.join(", ")}`, { field: flag });
  for (const name of names) {
    if (!isBenchmarkName(name)) {
      throw new UsageError(`${flag}: unknown benchmark "${name}"; known: ${BENCHMARK_NAMES.join(", ")}`, {
        field: flag,
      });
    }
  }
  return [...new Set(names)] as BenchmarkName[];
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function firstPresent(folder: string, names: readonly string[]): Promise<string> {
  for (const name of names) {
    const path = join(folder, name);
    try {
      await stat(path);
      return path;
    } catch {
      // try the next name
    }
  }
  return join(folder, names[0] as string);
}
