/**
 * `npm run bench -- data [--records N] [--keep]`: alignment data throughput and memory.
 * Writes N (default 200,000) synthetic interaction records, then runs each step in a fresh child
 * process (so the generator's memory does not count) and reports rows/s and the child's peak RSS:
 * an idle child as the baseline, `data build` with --mix all and 5:1:1, `export` to dpo and
 * openai-sft, `stats`, and, when ../shared/data/hh-rlhf-harmless.dev.jsonl.gz exists, an HH-RLHF import.
 * Target: peak RSS under 300 MB for every step. Nothing here asserts on time.
 */
import { spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { computeAlignmentDataStats } from "../src/data/alignment-data-stats.js";
import { buildAlignmentData } from "../src/data/build-alignment-data.js";
import { parseDataMix } from "../src/data/data-mix.js";
import { exportAlignmentData, parseExportFormat } from "../src/data/export-alignment-data.js";
import { importAlignmentData } from "../src/data/import-alignment-data.js";
import { formatTable } from "../src/data/text-table.js";
import { mulberry32 } from "../src/engine/random.js";
import type { InteractionRecord } from "../src/spec/interaction-record.js";

const here = dirname(fileURLToPath(import.meta.url));
const hhFile = join(here, "..", "..", "shared", "data", "hh-rlhf-harmless.dev.jsonl.gz");

interface StepResult {
  /** What the step counted (records read, rows written). */
  counts: Record<string, number>;
  seconds: number;
  peakRssMb: number;
}

/** Child mode: runs one step and prints its result as JSON on the last line. */
async function runStep(step: string, parameters: string[]): Promise<void> {
  const [input = "", output = "", extra = ""] = parameters;
  const started = performance.now();
  let counts: Record<string, number> = {};
  if (step === "idle") {
    counts = {};
  } else if (step === "build") {
    const report = await buildAlignmentData({ runs: [input], out: output, mix: parseDataMix(extra) });
    counts = { records: report.records, examples: report.writtenExamples, responses: report.writtenResponses };
  } else if (step === "export") {
    const report = await exportAlignmentData({ input, out: output, format: parseExportFormat(extra) });
    counts = { examples: report.examples, rows: report.rows };
  } else if (step === "stats") {
    const stats = await computeAlignmentDataStats({ path: input });
    counts = { examples: stats.total.examples, responses: stats.total.responses };
  } else if (step === "import") {
    const report = await importAlignmentData({ input, out: output, format: "hh-rlhf" });
    counts = { read: report.read, examples: report.examples };
  } else {
    throw new Error(`unknown step ${step}`);
  }
  const seconds = (performance.now() - started) / 1000;
  const result: StepResult = { counts, seconds, peakRssMb: process.resourceUsage().maxRSS / 1024 };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function runChild(step: string, parameters: string[]): Promise<StepResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(here, "run.ts"), "data", "--child", step, ...parameters],
      {
        cwd: join(here, ".."),
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const last = stdout.trim().split("\n").at(-1) ?? "";
      if (code !== 0) reject(new Error(`step ${step} exited with ${code}: ${stdout}`));
      else resolve(JSON.parse(last) as StepResult);
    });
  });
}

/** mulberry32, so the synthetic data is the same on every run. */
function createGenerator(seed: number) {
  const next = mulberry32(seed);
  const integer = (low: number, high: number): number => low + Math.floor(next() * (high - low + 1));
  const syllables = ["ka", "lo", "mi", "ren", "tas", "vu", "no", "shi", "pel", "dor", "a", "e", "qui", "zan"];
  const vocabulary = Array.from({ length: 2000 }, () =>
    Array.from({ length: integer(1, 4) }, () => syllables[integer(0, syllables.length - 1)]).join(""),
  );
  const sentence = (words: number): string => {
    const parts: string[] = [];
    for (let index = 0; index < words; index += 1) parts.push(vocabulary[integer(0, vocabulary.length - 1)] as string);
    return `${parts.join(" ")}.`;
  };
  return { next, integer, sentence };
}

/** Writes `count` records shaped like a 10x10 world's: 100 agents per round, 5,000 questions wrapping. */
async function writeSyntheticRecords(path: string, count: number): Promise<void> {
  const random = createGenerator(42);
  const questions = Array.from(
    { length: 5000 },
    (_, index) => `Question ${index}: ${random.sentence(random.integer(6, 16))}?`,
  );
  const canned = ["I'm sorry, I can't help with that.", "Sure, here is how.", "Please ask someone you trust."];
  const stream = createWriteStream(path);
  const score = (low: number): number => random.integer(low, 7);
  let batch: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const agent = index % 100;
    const feedbackCount = random.integer(2, 4);
    const valid = Array.from({ length: feedbackCount }, () => random.next() > 0.03);
    const rating = valid.map((ok) => (ok ? score(1) : null)).sort((left, right) => (right ?? 0) - (left ?? 0));
    const before = random.next() > 0.02 ? score(1) : null;
    const after = random.next() > 0.02 ? score(2) : null;
    const record: InteractionRecord = {
      run_id: "bench",
      world: { size: 10, setting: "mixed_half_half", seed: 1 },
      agent_id: agent,
      label: agent % 2 === 0 ? "good" : "bad",
      iteration: Math.floor(index / 100),
      question: questions[index % questions.length] as string,
      draft_answer:
        random.next() < 0.05 ? (canned[random.integer(0, 2)] as string) : random.sentence(random.integer(40, 80)),
      target_id: rating.map((_, peer) => (agent + peer + 1) % 100),
      feedback: rating.map((value) => (value === null ? null : random.sentence(random.integer(10, 30)))),
      rating,
      mean_rating: null,
      revised_answer: random.sentence(random.integer(50, 90)),
      gen_moral_score_before: before,
      gen_moral_reason_before: before === null ? null : "reason",
      gen_engagement_score_before: 4,
      gen_engagement_reason_before: "reason",
      gen_moral_score_after: after,
      gen_moral_reason_after: after === null ? null : "reason",
      gen_engagement_score_after: 5,
      gen_engagement_reason_after: "reason",
      validity: {
        peer: rating.map((value) => value !== null),
        moral_before: before !== null,
        engagement_before: true,
        moral_after: after !== null,
        engagement_after: true,
      },
      models: {
        agent: `agent-model-${agent % 3}`,
        observer: "observer",
        peers: rating.map((_, peer) => `peer-model-${peer % 3}`),
      },
      usage: { calls: 9, prompt_tokens: 2000, completion_tokens: 900, cost_usd: 0 },
      timings: { started_at: 1_700_000_000_000 + index, duration_ms: 1234 },
    };
    batch.push(`${JSON.stringify(record)}\n`);
    if (batch.length === 1000) {
      if (!stream.write(batch.join(""))) await new Promise<void>((resolve) => stream.once("drain", () => resolve()));
      batch = [];
    }
  }
  stream.end(batch.join(""));
  await new Promise<void>((resolve, reject) => stream.on("close", () => resolve()).on("error", reject));
}

export default async function data(args: string[]): Promise<void> {
  if (args[0] === "--child") {
    await runStep(args[1] ?? "", args.slice(2));
    return;
  }
  const recordsFlag = args.indexOf("--records");
  const count = recordsFlag === -1 ? 200_000 : Number(args[recordsFlag + 1]);
  const keep = args.includes("--keep");
  const directory = mkdtempSync(join(tmpdir(), "bench-data-"));
  try {
    const run = join(directory, "run");
    mkdirSync(run);
    const records = join(run, "records.jsonl");
    let started = performance.now();
    await writeSyntheticRecords(records, count);
    const megabytes = (path: string): string => `${(statSync(path).size / 2 ** 20).toFixed(0)} MB`;
    process.stdout.write(
      `generated ${count} records (${megabytes(records)}) in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
    );
    const all = join(directory, "all.json");
    const mixed = join(directory, "mixed.json");
    const rows: (string | number)[][] = [];
    const add = (name: string, result: StepResult, rowsKey: string, size?: string): void => {
      const rowCount = result.counts[rowsKey] ?? 0;
      rows.push([
        name,
        Object.entries(result.counts)
          .map(([key, value]) => `${key} ${value}`)
          .join(", "),
        Number(result.seconds.toFixed(1)),
        rowCount === 0 ? 0 : Math.round(rowCount / result.seconds),
        `${rowsKey}/s`,
        Math.round(result.peakRssMb),
        size ?? "",
      ]);
      process.stdout.write(`  ${name}: ${result.seconds.toFixed(1)} s, peak RSS ${Math.round(result.peakRssMb)} MB\n`);
    };
    add("idle child (baseline)", await runChild("idle", []), "none");
    started = performance.now();
    add("build --mix all", await runChild("build", [records, all, "all"]), "records", megabytes(all));
    add("build --mix 5:1:1", await runChild("build", [records, mixed, "5:1:1"]), "records", megabytes(mixed));
    const dpo = join(directory, "all.dpo.jsonl");
    add("export dpo (from all)", await runChild("export", [all, dpo, "dpo"]), "rows", megabytes(dpo));
    const sft = join(directory, "all.openai-sft.jsonl");
    add("export openai-sft (from all)", await runChild("export", [all, sft, "openai-sft"]), "rows", megabytes(sft));
    add("stats (from all)", await runChild("stats", [all]), "examples");
    if (existsSync(hhFile)) {
      const hh = join(directory, "hh.json");
      add("import hh-rlhf (1,800 pairs)", await runChild("import", [hhFile, hh]), "read", megabytes(hh));
      add("export dpo (from hh)", await runChild("export", [hh, join(directory, "hh.dpo.jsonl"), "dpo"]), "rows");
    }
    process.stdout.write(
      `\n${formatTable({ header: ["step", "counts", "seconds", "rate", "unit", "peak RSS MB", "output"], rows })}\n`,
    );
    const worst = Math.max(...rows.map((row) => row[5] as number));
    process.stdout.write(`\nhighest peak RSS ${worst} MB (target < 300 MB): ${worst < 300 ? "met" : "NOT met"}\n`);
  } finally {
    if (keep) process.stdout.write(`kept ${directory}\n`);
    else rmSync(directory, { recursive: true, force: true });
  }
}
