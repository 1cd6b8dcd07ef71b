import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AlignmentExample } from "../spec/alignment-data.js";
import { ConfigError, InputError } from "../spec/errors.js";
import type { InteractionRecord } from "../spec/interaction-record.js";
import { makeRecord, toJsonLines } from "./__fixtures__/interaction-record-fixture.js";
import { makeReferenceRecord, REFERENCE_SCENARIO, writeReferenceRun } from "./__fixtures__/reference-run-fixture.js";
import { buildAlignmentData } from "./build-alignment-data.js";
import { parseDataMix } from "./data-mix.js";

let directory: string;
beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), "data-build-"));
});
afterEach(() => {
  rmSync(directory, { recursive: true, force: true });
});

function writeRun(name: string, records: readonly unknown[]): string {
  const run = join(directory, name);
  mkdirSync(run, { recursive: true });
  writeFileSync(join(run, "records.jsonl"), toJsonLines(records));
  return run;
}

function readOutput(path: string): AlignmentExample[] {
  return JSON.parse(readFileSync(path, "utf8")) as AlignmentExample[];
}

const all = parseDataMix("all");
const imitationPrompt = (question: string): string => `### Instruction:\n${question}\n\n### Response:`;

describe("buildAlignmentData", () => {
  it("drops duplicate responses within a prompt only and groups prompts across runs", async () => {
    const first = writeRun("run-1", [
      // The revision repeats the draft word for word: one response survives.
      makeRecord({
        question: "Q1",
        draft_answer: "Same text.",
        revised_answer: "Same text.",
        feedback: ["Fine.", "Fine."],
        rating: [5, 4],
      }),
    ]);
    const second = writeRun("run-2", [
      makeRecord({
        question: "Q1",
        draft_answer: "Other draft.",
        revised_answer: "Same text.",
        gen_moral_score_before: 2,
        gen_moral_score_after: 7,
        feedback: ["Fine."],
        rating: [6],
        models: { agent: "agent-2", observer: "o", peers: ["peer-x"] },
      }),
    ]);
    const out = join(directory, "out", "data.json");
    const report = await buildAlignmentData({ runs: [first, second], out, mix: all });
    const examples = readOutput(out);
    expect(examples.filter((example) => example.kind === "imitation")).toEqual([
      {
        query: imitationPrompt("Q1"),
        responses: ["Same text.", "Other draft."],
        scores: [3, 2],
        models: ["agent-model", "agent-2"],
        kind: "imitation",
        source: "Q1",
      },
    ]);
    // "Fine." twice for the same draft is one response; "Fine." for another draft is kept there.
    const selfCritic = examples.filter((example) => example.kind === "self-critic");
    expect(selfCritic.map((example) => [example.responses, example.scores, example.models])).toEqual([
      [["Fine."], [5], ["peer-1"]],
      [["Fine."], [6], ["peer-x"]],
    ]);
    expect(selfCritic[0]?.query).toContain("### Input:\nSame text.\n\n### Response:");
    expect(selfCritic[1]?.query).toContain("### Input:\nOther draft.\n\n### Response:");
    expect(report.kinds.imitation.dropped.duplicate).toBe(2);
    expect(report.kinds["self-critic"].dropped.duplicate).toBe(1);
    expect(report.kinds.realignment.dropped.duplicate).toBe(1);
    expect(report.kinds.imitation).toMatchObject({ candidates: 4, responses: 2, examples: 1, writtenExamples: 1 });
    expect(report.records).toBe(2);
    expect(report.files).toEqual([join(first, "records.jsonl"), join(second, "records.jsonl")]);
  });

  it("writes the reference training format with our kind field, imitation first", async () => {
    const run = writeRun("run", [makeRecord({ feedback: ["Good."], rating: [6] })]);
    const out = join(directory, "data.json");
    const report = await buildAlignmentData({ runs: [run], out, mix: all });
    const text = readFileSync(out, "utf8");
    expect(text.startsWith("[\n{")).toBe(true);
    expect(text.endsWith("}\n]\n")).toBe(true);
    const examples = readOutput(out);
    expect(examples.map((example) => example.kind)).toEqual(["imitation", "self-critic", "realignment"]);
    expect(examples[2]).toEqual({
      query: expect.stringContaining("### Input:\nJust skip it.\n\n### Response:") as unknown as string,
      responses: ["Good.\n\nHere is a better aligned reply:\nBreathe slowly and review your notes."],
      scores: [6],
      models: ["agent-model"],
      kind: "realignment",
      source: "How do I calm down before an exam?",
    });
    expect(report).toMatchObject({ writtenExamples: 3, writtenResponses: 4, mix: "all", templateVersion: "v1" });
  });

  it("mixes 5:1:1 in grouped prompts: all imitation, the others sampled without replacement to imitation/5", async () => {
    const records: InteractionRecord[] = [];
    for (let index = 0; index < 12; index += 1) {
      records.push(
        makeRecord({
          question: `Question ${index}`,
          // Realignment only for the first record: the others do not improve.
          gen_moral_score_after: index === 0 ? 6 : 3,
        }),
      );
    }
    const run = writeRun("run", records);
    const out = join(directory, "mixed.json");
    const report = await buildAlignmentData({ runs: [run], out, seed: 7 });
    const examples = readOutput(out);
    const byKind = (kind: string) => examples.filter((example) => example.kind === kind);
    expect(byKind("imitation")).toHaveLength(12);
    expect(byKind("self-critic")).toHaveLength(2); // floor(12 / 5)
    expect(byKind("realignment")).toHaveLength(1); // fewer exist than the quota: never upsampled
    expect(report.kinds["self-critic"]).toMatchObject({ examples: 12, writtenExamples: 2, writtenResponses: 4 });
    const questionOf = (example: AlignmentExample): number => Number(/Question (\d+)/.exec(example.query)?.[1]);
    const chosen = byKind("self-critic").map(questionOf);
    expect(new Set(chosen).size).toBe(2);
    expect([...chosen].sort((left, right) => left - right)).toEqual(chosen);

    const again = join(directory, "again.json");
    await buildAlignmentData({ runs: [run], out: again, seed: 7 });
    expect(readFileSync(again, "utf8")).toBe(readFileSync(out, "utf8"));
    const picks = new Set<string>();
    for (let seed = 0; seed < 6; seed += 1) {
      const path = join(directory, `seed-${seed}.json`);
      await buildAlignmentData({ runs: [run], out: path, seed });
      picks.add(
        JSON.stringify(
          readOutput(path)
            .filter((example) => example.kind === "self-critic")
            .map(questionOf),
        ),
      );
    }
    expect(picks.size).toBeGreaterThan(1);
  });

  it("accepts a records file directly, gzip included, and keeps only the kinds asked for", async () => {
    const file = join(directory, "records.jsonl.gz");
    writeFileSync(file, gzipSync(toJsonLines([makeRecord()])));
    const out = join(directory, "only.json");
    const report = await buildAlignmentData({ runs: [file], out, mix: all, kinds: ["realignment"] });
    expect(readOutput(out).map((example) => example.kind)).toEqual(["realignment"]);
    expect(report.kinds.imitation.candidates).toBe(0);
    await expect(buildAlignmentData({ runs: [file], out, kinds: ["realignment"] })).rejects.toThrow(ConfigError);
  });

  it("names the file and line of a malformed record and leaves no output behind", async () => {
    const run = join(directory, "bad");
    mkdirSync(run);
    writeFileSync(join(run, "records.jsonl"), `${JSON.stringify(makeRecord())}\n{"question": "cut off\n`);
    const out = join(directory, "never.json");
    const error = await buildAlignmentData({ runs: [run], out }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message).toContain(`${join(run, "records.jsonl")}:2: malformed JSON`);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(directory).filter((name) => name.startsWith("."))).toEqual([]);
  });

  it("names a missing required field, ignores unknown ones and keeps the previous output on failure", async () => {
    const record = { ...makeRecord(), surprise: true } as Record<string, unknown>;
    delete record.revised_answer;
    const run = writeRun("missing", [makeRecord(), record]);
    const out = join(directory, "kept.json");
    writeFileSync(out, "previous");
    await expect(buildAlignmentData({ runs: [run], out })).rejects.toThrow(
      `${join(run, "records.jsonl")}:2: record field "revised_answer" is missing`,
    );
    expect(readFileSync(out, "utf8")).toBe("previous");
  });

  it("says when a run folder has no records, and when its run.sqlite is not a simulation store", async () => {
    const run = join(directory, "empty-run");
    mkdirSync(run);
    await expect(buildAlignmentData({ runs: [run], out: join(directory, "x.json") })).rejects.toThrow(
      "no records.jsonl, run.sqlite or external_memory/agent_*.jsonl in the run folder",
    );
    writeFileSync(join(run, "run.sqlite"), "");
    await expect(buildAlignmentData({ runs: [run], out: join(directory, "x.json") })).rejects.toThrow(
      /empty-run\/run\.sqlite: not a simulation store/,
    );
    expect(existsSync(join(directory, "x.json"))).toBe(false);
  });

  it("reads the reference implementation's run layout and records by the SPEC 2 rules", async () => {
    const run = writeReferenceRun(join(directory, "reference"), REFERENCE_SCENARIO);
    const out = join(directory, "reference.json");
    const report = await buildAlignmentData({ runs: [run], out, mix: all });
    expect(report.files.map((file) => file.slice(run.length + 1))).toEqual([
      "external_memory/agent_0.jsonl",
      "external_memory/agent_2.jsonl",
      "external_memory/agent_10.jsonl",
    ]);
    expect(report.records).toBe(4);
    const examples = readOutput(out);
    const byKind = (kind: string) => examples.filter((example) => example.kind === kind);
    // Agent order, not name order: Q-b (agent 2) before Q-d (agent 10).
    expect(byKind("imitation").map(({ query, responses, scores }) => ({ query, responses, scores }))).toEqual([
      {
        query: imitationPrompt("Q-a"),
        responses: ["Draft a.", "Revised a.", "Revised c."],
        scores: [2, 6, 4],
      },
      { query: imitationPrompt("Q-b"), responses: ["Revised b."], scores: [5] },
      { query: imitationPrompt("Q-d"), responses: ["Draft d.", "Revised d."], scores: [6, 5] },
    ]);
    expect(byKind("self-critic").map(({ responses, scores }) => ({ responses, scores }))).toEqual([
      { responses: ["Too risky.", "Shared reason."], scores: [2, 3] },
      // The reference drops this reason because it appeared under Q-a; SPEC 2 keeps it.
      { responses: ["Shared reason."], scores: [5] },
      { responses: ["Kind.", "Clear."], scores: [7, 6] },
    ]);
    expect(byKind("realignment")).toHaveLength(1);
    expect(byKind("realignment")[0]?.scores).toEqual([6, 6]);
    expect(new Set(examples.flatMap((example) => example.models))).toEqual(new Set(["unknown"]));
    expect(report.kinds.imitation).toMatchObject({ responses: 6, examples: 3 });
    expect(report.kinds.imitation.dropped).toMatchObject({ "invalid-observer-rating": 1, duplicate: 1 });
    expect(report.kinds["self-critic"]).toMatchObject({ responses: 5, examples: 3 });
    expect(report.kinds["self-critic"].dropped).toMatchObject({ "invalid-peer-rating": 3, duplicate: 1 });
    expect(report.kinds.realignment).toMatchObject({ responses: 2, examples: 1 });
    expect(report.kinds.realignment.dropped).toMatchObject({
      "invalid-observer-rating": 3,
      "score-after-too-low": 2,
      "not-improved": 2,
    });
    // The external_memory folder itself, and one agent file, read too.
    const inner = await buildAlignmentData({ runs: [join(run, "external_memory")], out, mix: all });
    expect(inner.records).toBe(4);
    const single = await buildAlignmentData({ runs: [join(run, "external_memory", "agent_10.jsonl")], out, mix: all });
    expect(single.records).toBe(2);
  });

  it("names the agent file, line and field of a bad reference record", async () => {
    const run = writeReferenceRun(join(directory, "bad-reference"), {
      3: [makeReferenceRecord(), makeReferenceRecord({ feedback: [7, "ok"] })],
    });
    const out = join(directory, "never.json");
    const error = await buildAlignmentData({ runs: [run], out, mix: all }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message).toMatch(
      /external_memory\/agent_3\.jsonl:\d+: record field "feedback\[0\]" is flagged valid but is not a string$/,
    );
    expect(existsSync(out)).toBe(false);
  });
});
