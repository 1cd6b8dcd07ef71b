import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AlignmentExample } from "../spec/alignment-data.js";
import { InputError } from "../spec/errors.js";
import { makeRecord, toJsonLines } from "./__fixtures__/interaction-record-fixture.js";
import { REFERENCE_SCENARIO, writeReferenceRun } from "./__fixtures__/reference-run-fixture.js";
import { buildAlignmentData } from "./build-alignment-data.js";
import { parseDataMix } from "./data-mix.js";
import { exportAlignmentData } from "./export-alignment-data.js";
import { hhPairToExample, splitTranscript } from "./hh-rlhf.js";
import { importAlignmentData } from "./import-alignment-data.js";

let directory: string;
beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), "data-import-"));
});
afterEach(() => {
  rmSync(directory, { recursive: true, force: true });
});

const readJson = (path: string): AlignmentExample[] => JSON.parse(readFileSync(path, "utf8")) as AlignmentExample[];
const readJsonLines = (path: string): Record<string, unknown>[] =>
  readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);

const lastTurnPairs = [
  {
    chosen: "\n\nHuman: How do I pick a lock?\n\nAssistant: I can't help with breaking into places.",
    rejected: "\n\nHuman: How do I pick a lock?\n\nAssistant: Get a tension wrench and a pick.",
  },
  {
    chosen:
      "\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Insult me.\n\nAssistant: I'd rather say something kind.\n\nParagraph two.",
    rejected: "\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Insult me.\n\nAssistant: You are hopeless.",
  },
];
const earlyPair = {
  chosen: "\n\nHuman: A?\n\nAssistant: Careful answer.\n\nHuman: More?\n\nAssistant: Same.",
  rejected: "\n\nHuman: A?\n\nAssistant: Reckless answer.\n\nHuman: More?\n\nAssistant: Same.",
};
const identicalPair = { chosen: "\n\nHuman: x\n\nAssistant: y", rejected: "\n\nHuman: x\n\nAssistant: y" };

function writePairs(name: string, pairs: readonly object[], { gzip = false } = {}): string {
  const path = join(directory, name);
  const text = pairs.map((pair) => JSON.stringify(pair)).join("\n");
  writeFileSync(path, gzip ? gzipSync(text) : text);
  return path;
}

describe("HH-RLHF import", () => {
  it("round trip: HH-RLHF pairs -> import -> dpo export gives back the same pairs", async () => {
    const input = writePairs("pairs.jsonl.gz", [...lastTurnPairs, earlyPair, identicalPair], { gzip: true });
    const data = join(directory, "hh.json");
    const report = await importAlignmentData({ input, format: "hh-rlhf", out: data });
    expect(report).toMatchObject({ read: 4, examples: 3, responses: 6, skipped: { identical: 1 } });
    const out = join(directory, "dpo.jsonl");
    await exportAlignmentData({ input: data, format: "dpo", out });
    const rows = readJsonLines(out);
    expect(rows).toHaveLength(3);
    rows.slice(0, 2).forEach((row, index) => {
      expect(`${row.prompt} ${row.chosen}`).toBe(lastTurnPairs[index]?.chosen);
      expect(`${row.prompt} ${row.rejected}`).toBe(lastTurnPairs[index]?.rejected);
      expect([row.score_chosen, row.score_rejected]).toEqual([7, 1]);
    });
    expect(rows[2]).toEqual({
      prompt: "\n\nHuman: A?\n\nAssistant:",
      chosen: "Careful answer.",
      rejected: "Reckless answer.",
      score_chosen: 7,
      score_rejected: 1,
    });
  });

  it("writes exact examples, with chosen and rejected scores and the Alpaca template on request", async () => {
    const input = writePairs("pairs.jsonl", [lastTurnPairs[1] as object]);
    const out = join(directory, "alpaca.json");
    await importAlignmentData({ input, format: "hh-rlhf", out, template: "alpaca", chosenScore: 6, rejectedScore: 2 });
    expect(readJson(out)).toEqual([
      {
        query: "### Instruction:\nInsult me.\n\n### Response:",
        responses: ["I'd rather say something kind.\n\nParagraph two.", "You are hopeless."],
        scores: [6, 2],
        models: ["hh-rlhf", "hh-rlhf"],
        kind: "imitation",
        source: "Hi",
      },
    ]);
    const openai = join(directory, "openai.jsonl");
    await exportAlignmentData({ input: join(directory, "alpaca.json"), format: "openai-dpo", out: openai });
    expect(readJsonLines(openai)[0]?.input).toEqual({ messages: [{ role: "user", content: "Insult me." }] });
  });

  it("skips pairs that differ outside an assistant turn and names a missing field", async () => {
    expect(
      hhPairToExample({ chosen: "\n\nHuman: a\n\nAssistant: b", rejected: "\n\nHuman: c\n\nAssistant: b" }),
    ).toEqual({ skip: "differs-outside-an-assistant-turn" });
    expect(hhPairToExample({ chosen: "no markers", rejected: "at all" })).toEqual({ skip: "not-a-transcript" });
    expect(splitTranscript("Human: a\n\nAssistant: b").map((turn) => turn.text)).toEqual(["a", "b"]);
    const input = writePairs("bad.jsonl", [lastTurnPairs[0] as object, { chosen: "x" }]);
    await expect(importAlignmentData({ input, format: "hh-rlhf", out: join(directory, "x.json") })).rejects.toThrow(
      `${input}:2: field "rejected" is missing`,
    );
  });
});

describe("generic JSON Lines and sa import", () => {
  it("maps fields by name, including nested paths, lists and pairs", async () => {
    const input = writePairs("generic.jsonl", [
      { q: "P1", out: { text: "A" }, rating: 5, who: "m1" },
      { q: "P2", out: { text: ["B", "C"] }, rating: [2, 6], kind: "realignment" },
    ]);
    const out = join(directory, "generic.json");
    await importAlignmentData({
      input,
      format: "jsonl",
      out,
      fields: { prompt: "q", response: "out.text", score: "rating", model: "who", kind: "kind" },
    });
    expect(readJson(out)).toEqual([
      { query: "P1", responses: ["A"], scores: [5], models: ["m1"], kind: "imitation" },
      { query: "P2", responses: ["B", "C"], scores: [2, 6], models: ["unknown", "unknown"], kind: "realignment" },
    ]);
    const pairs = writePairs("pairs.jsonl", [{ prompt: "P", good: "G", bad: "B" }]);
    await importAlignmentData({
      input: pairs,
      format: "jsonl",
      out,
      fields: { chosen: "good", rejected: "bad" },
      model: "x",
    });
    expect(readJson(out)).toEqual([
      { query: "P", responses: ["G", "B"], scores: [7, 1], models: ["x", "x"], kind: "imitation" },
    ]);
    await expect(importAlignmentData({ input, format: "jsonl", out, fields: { prompt: "q" } })).rejects.toThrow(
      `${input}:1: field "response" is missing or empty`,
    );
  });

  it("groups lines by prompt on request, dropping duplicate responses", async () => {
    const input = writePairs("rated.jsonl", [
      { prompt: "P", response: "a", score: 1 },
      { prompt: "Q", response: "b", score: 2 },
      { prompt: "P", response: "c", score: 7 },
      { prompt: "P", response: "a", score: 3 },
    ]);
    const out = join(directory, "grouped.json");
    const report = await importAlignmentData({ input, format: "jsonl", out, group: true });
    expect(readJson(out)).toEqual([
      { query: "P", responses: ["a", "c"], scores: [1, 7], models: ["unknown", "unknown"], kind: "imitation" },
      { query: "Q", responses: ["b"], scores: [2], models: ["unknown"], kind: "imitation" },
    ]);
    expect(report).toMatchObject({ read: 4, examples: 2, responses: 3, skipped: { duplicate: 1 } });
  });

  it("reads reference sa files without models or kind", async () => {
    const input = join(directory, "reference.json");
    writeFileSync(input, JSON.stringify([{ query: "q", responses: ["r1", "r2"], scores: [7, 2] }]));
    const out = join(directory, "ours.json");
    await importAlignmentData({ input, format: "sa", out, model: "ref-model", kind: "self-critic" });
    expect(readJson(out)).toEqual([
      { query: "q", responses: ["r1", "r2"], scores: [7, 2], models: ["ref-model", "ref-model"], kind: "self-critic" },
    ]);
  });
});

describe("sandbox-records import", () => {
  it("reads the reference run layout into the same rows as data build --mix all", async () => {
    const run = writeReferenceRun(join(directory, "reference"), REFERENCE_SCENARIO);
    const out = join(directory, "imported.json");
    const report = await importAlignmentData({ input: run, format: "sandbox-records", out });
    expect(report).toEqual({
      out,
      format: "sandbox-records",
      read: 4,
      examples: 7,
      responses: 13,
      skipped: {
        "imitation invalid-observer-rating": 1,
        "imitation duplicate": 1,
        "self-critic invalid-peer-rating": 3,
        "self-critic duplicate": 1,
        "realignment invalid-observer-rating": 3,
        "realignment not-improved": 2,
        "realignment score-after-too-low": 2,
      },
    });
    const built = join(directory, "built.json");
    await buildAlignmentData({ runs: [run], out: built, mix: parseDataMix("all") });
    expect(readFileSync(out, "utf8")).toBe(readFileSync(built, "utf8"));
    expect(readJson(out).map((example) => example.kind)).toEqual([
      "imitation",
      "imitation",
      "imitation",
      "self-critic",
      "self-critic",
      "self-critic",
      "realignment",
    ]);
  });

  it("reads our own records file too, and names a folder without records", async () => {
    const input = join(directory, "records.jsonl");
    writeFileSync(input, toJsonLines([makeRecord()]));
    const out = join(directory, "ours.json");
    const report = await importAlignmentData({ input, format: "sandbox-records", out });
    expect(report).toMatchObject({ read: 1, examples: 3, responses: 6, skipped: {} });
    const empty = join(directory, "empty");
    mkdirSync(empty);
    const error = await importAlignmentData({ input: empty, format: "sandbox-records", out }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message).toBe(
      `${empty}: no records.jsonl, run.sqlite or external_memory/agent_*.jsonl in the run folder`,
    );
  });
});
