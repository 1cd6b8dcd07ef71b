import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ProviderError } from "../spec/errors.js";
import type { InteractionRecord } from "../spec/interaction-record.js";
import type { LanguageModel } from "../spec/language-model.js";
import { appendRecords, reconcileRecordsFile } from "./records-file.js";
import { createSocietyModel, runTestSimulation } from "./test-support/test-simulation.js";

/** A pid no process has (above the Linux maximum). */
const deadPid = 4_194_305;

const withoutTimings = (records: InteractionRecord[]) => records.map(({ timings: _timings, ...rest }) => rest);

/** Wraps a model so that its `failAt`-th call (from 1) fails; counts successful calls. */
function failingOnce(model: LanguageModel, failAt: number): LanguageModel & { succeeded: () => number } {
  let calls = 0;
  let succeeded = 0;
  return {
    ...model,
    async generate(request) {
      calls += 1;
      if (calls === failAt) {
        throw new ProviderError("endpoint went away", { retryable: false });
      }
      const result = await model.generate(request);
      succeeded += 1;
      return result;
    },
    succeeded: () => succeeded,
  };
}

describe("resume", () => {
  it("finishes a failed run from its persisted steps: same records, each (round, agent) once, no repeated call", async () => {
    const options = { size: 3, rounds: 2, setting: "mixed_half_half" as const, seed: 3 };
    const uninterruptedAgent = createSocietyModel();
    const uninterruptedObserver = createSocietyModel({ modelId: "scripted-observer" });
    const uninterrupted = await runTestSimulation({
      ...options,
      agentLanguageModels: [uninterruptedAgent],
      observer: uninterruptedObserver,
    });
    const totalCalls = uninterruptedAgent.requests.length + uninterruptedObserver.requests.length;

    const directory = mkdtempSync(join(tmpdir(), "sandbox-resume-"));
    // Fail in round 1, in the middle of the interactions.
    const agent = failingOnce(createSocietyModel(), 60);
    const observer = createSocietyModel({ modelId: "scripted-observer" });
    await expect(runTestSimulation({ ...options, directory, agentLanguageModels: [agent], observer })).rejects.toThrow(
      /endpoint went away/,
    );
    const firstCalls = agent.succeeded() + observer.requests.length;
    expect(firstCalls).toBeGreaterThan(0);
    expect(firstCalls).toBeLessThan(totalCalls);

    const resumedAgent = createSocietyModel();
    const resumedObserver = createSocietyModel({ modelId: "scripted-observer" });
    const resumed = await runTestSimulation({
      ...options,
      directory,
      agentLanguageModels: [resumedAgent],
      observer: resumedObserver,
    });
    expect(withoutTimings(resumed.records)).toEqual(withoutTimings(uninterrupted.records));
    const keys = resumed.records.map((record) => `${record.iteration}/${record.agent_id}`);
    expect(new Set(keys).size).toBe(18);
    expect(firstCalls + resumedAgent.requests.length + resumedObserver.requests.length).toBe(totalCalls);

    // A third run finds everything done and calls nothing.
    const idleAgent = createSocietyModel();
    const again = await runTestSimulation({
      ...options,
      directory,
      agentLanguageModels: [idleAgent],
      observer: resumedObserver,
    });
    expect(idleAgent.requests).toHaveLength(0);
    expect(again.records).toHaveLength(18);
  });

  it("extends a finished run with more rounds and refuses a run dir holding another world", async () => {
    const directory = mkdtempSync(join(tmpdir(), "sandbox-extend-"));
    await runTestSimulation({ size: 2, rounds: 1, targets: 2, directory });
    const extended = await runTestSimulation({ size: 2, rounds: 2, targets: 2, directory });
    expect(extended.records.map((record) => record.iteration)).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    await expect(runTestSimulation({ size: 2, rounds: 2, targets: 2, setting: "all_bad", directory })).rejects.toThrow(
      /holds another simulation/,
    );
  });
});

describe("two writers on one run directory", () => {
  it("records.jsonl holds each (round, agent) once when a second run joins a live one", async () => {
    const options = { size: 3, rounds: 2, setting: "all_bad" as const, seed: 4 };
    const model = () => createSocietyModel({ latencyMs: 2 });
    const uninterrupted = await runTestSimulation({ ...options, agentLanguageModels: [model()], observer: model() });
    const directory = mkdtempSync(join(tmpdir(), "sandbox-two-writers-"));
    // The second run (its own database connection) starts once the first has begun round 0: both
    // run the round and both reach its barrier, as after a kill that left the first process alive.
    let second: Promise<unknown> | undefined;
    const first = runTestSimulation({
      ...options,
      directory,
      agentLanguageModels: [model()],
      observer: model(),
      onEvent: (event) => {
        if (event.type !== "round-start" || second !== undefined) return;
        second = runTestSimulation({ ...options, directory, agentLanguageModels: [model()], observer: model() });
      },
    });
    await first;
    await second;
    expect(second).toBeDefined();
    const records = readFileSync(join(directory, "records.jsonl"), "utf8")
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as InteractionRecord);
    expect(records.map((record) => `${record.iteration}/${record.agent_id}`)).toEqual(
      uninterrupted.records.map((record) => `${record.iteration}/${record.agent_id}`),
    );
    expect(withoutTimings(records)).toEqual(withoutTimings(uninterrupted.records));
  });

  it("a rewrite interrupted by a kill leaves the file whole and its temporary file is removed", () => {
    const directory = mkdtempSync(join(tmpdir(), "records-rewrite-"));
    const path = join(directory, "records.jsonl");
    const size = appendRecords(path, [{ a: 1 }, { a: 2 }]);
    // A leftover of an older version's rewrite and one of the shared atomic writer, both of dead writers.
    writeFileSync(join(directory, "records.jsonl.tmp-999999"), '{"a":1}\n{"a"');
    writeFileSync(join(directory, `.records.jsonl.${deadPid}.0123abcd.tmp`), '{"a":1}\n{"a"');
    rmSync(path);
    reconcileRecordsFile({ path, expectedBytes: size, rewrite: () => [{ a: 1 }, { a: 2 }] });
    expect(readFileSync(path, "utf8")).toBe('{"a":1}\n{"a":2}\n');
    expect(readdirSync(directory)).toEqual(["records.jsonl"]);
  });
});

describe("records.jsonl reconciliation", () => {
  it("cuts lines of an unfinished barrier and rewrites a missing file", () => {
    const directory = mkdtempSync(join(tmpdir(), "records-"));
    const path = join(directory, "records.jsonl");
    const size = appendRecords(path, [{ a: 1 }, { a: 2 }]);
    appendRecords(path, [{ a: 3 }]);
    reconcileRecordsFile({ path, expectedBytes: size, rewrite: () => [] });
    expect(readFileSync(path, "utf8")).toBe('{"a":1}\n{"a":2}\n');
    writeFileSync(path, "");
    reconcileRecordsFile({ path, expectedBytes: size, rewrite: () => [{ a: 1 }, { a: 2 }] });
    expect(readFileSync(path, "utf8")).toBe('{"a":1}\n{"a":2}\n');
  });
});

describe("records.jsonl written as interactions complete", () => {
  const readRecords = (path: string) =>
    readFileSync(path, "utf8")
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as InteractionRecord);

  it("holds a round's completed agent-order prefix before the barrier, and a resume cuts and finishes it", async () => {
    // Models that answer a millisecond later, so completions fall in separate turns of the event loop.
    const options = {
      size: 3,
      rounds: 2,
      setting: "half_half" as const,
      seed: 5,
      targets: 2,
      observer: createSocietyModel({ modelId: "scripted-observer", latencyMs: 1 }),
    };
    const uninterrupted = await runTestSimulation({
      ...options,
      agentLanguageModels: [createSocietyModel({ latencyMs: 1 })],
      schedule: { maxConcurrentInteractions: 1 },
    });
    const directory = mkdtempSync(join(tmpdir(), "sandbox-incremental-"));
    const path = join(directory, "records.jsonl");
    // Seen at each completion of round 0: the lines already in the file.
    const linesAtCompletion: number[] = [];
    // One interaction at a time: 4 agent calls each (draft, 2 peer ratings, revision); call 50 is
    // the third call of round 1's fourth interaction, so round 1's agents 0-2 are complete.
    await expect(
      runTestSimulation({
        ...options,
        directory,
        schedule: { maxConcurrentInteractions: 1 },
        agentLanguageModels: [failingOnce(createSocietyModel({ latencyMs: 1 }), 50)],
        onEvent: (event) => {
          if (event.type === "interaction-complete" && event.round === 0) {
            linesAtCompletion.push(readRecords(path).length);
          }
        },
      }),
    ).rejects.toThrow(/endpoint went away/);
    // Agent k's completion is written in the turn after it, so agent k sees agents 0..k-1.
    expect(linesAtCompletion).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    const left = readRecords(path);
    expect(left.map((record) => `${record.iteration}/${record.agent_id}`)).toEqual([
      ...Array.from({ length: 9 }, (_, agent) => `0/${agent}`),
      "1/0",
      "1/1",
      "1/2",
    ]);
    expect(withoutTimings(left)).toEqual(withoutTimings(uninterrupted.records.slice(0, 12)));

    const resumed = await runTestSimulation({
      ...options,
      directory,
      agentLanguageModels: [createSocietyModel({ latencyMs: 1 })],
    });
    expect(resumed.records.map((record) => `${record.iteration}/${record.agent_id}`)).toEqual(
      uninterrupted.records.map((record) => `${record.iteration}/${record.agent_id}`),
    );
    expect(withoutTimings(resumed.records)).toEqual(withoutTimings(uninterrupted.records));
  });
});
