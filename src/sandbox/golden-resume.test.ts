/**
 * Golden resume: a run directory made before the shared-foundations refactor (test-support/golden-run.ts)
 * resumes with today's code to records identical to an uninterrupted run, so the seeded sequences that
 * existing runs depend on (target choice, question hand-out, prior sampling, sampling seeds) and the
 * prompts' text stayed bit-identical.
 */
import { cpSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { InteractionRecord } from "../spec/interaction-record.js";
import { neighboursOf } from "./target-selection.js";
import {
  goldenGlobalRunDirectory,
  goldenGlobalRunOptions,
  goldenRunDirectory,
  runGolden,
} from "./test-support/golden-run.js";
import { type SocietyServer, startSocietyServer } from "./test-support/society-server.js";

let society: SocietyServer;
beforeAll(async () => {
  society = await startSocietyServer();
});
afterAll(async () => {
  await society.close();
});

const withoutTimings = (records: readonly InteractionRecord[]) => records.map(({ timings: _timings, ...rest }) => rest);
const readLines = (path: string) =>
  readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as InteractionRecord);

describe("golden resume", () => {
  it("a run directory made before the refactor, stopped in round 1, resumes to the records of an uninterrupted run", async () => {
    const directory = mkdtempSync(join(tmpdir(), "golden-resume-"));
    cpSync(goldenRunDirectory, directory, { recursive: true });
    const before = readLines(join(directory, "records.jsonl"));
    // The fixture holds round 0 complete and round 1 part-way.
    expect(before.map((record) => record.iteration)).toEqual(Array(9).fill(0));

    const resumed = await runGolden({ society, directory });
    const uninterrupted = await runGolden({ society });
    const expectedBeforeRefactor = readLines(join(goldenRunDirectory, "expected-records.jsonl"));

    expect(resumed).toHaveLength(27);
    expect(withoutTimings(resumed.slice(0, 9))).toEqual(withoutTimings(before));
    expect(withoutTimings(resumed)).toEqual(withoutTimings(uninterrupted));
    expect(withoutTimings(resumed)).toEqual(withoutTimings(expectedBeforeRefactor));
  });

  it("a global-interaction run made by the code before selection stopped listing candidates resumes to the same records", async () => {
    const directory = mkdtempSync(join(tmpdir(), "golden-resume-global-"));
    cpSync(goldenGlobalRunDirectory, directory, { recursive: true });
    const before = readLines(join(directory, "records.jsonl"));
    expect(before.map((record) => record.iteration)).toEqual(Array(36).fill(0));

    const resumed = await runGolden({ society, directory, world: goldenGlobalRunOptions });
    const expected = readLines(join(goldenGlobalRunDirectory, "expected-records.jsonl"));
    expect(resumed).toHaveLength(72);
    expect(withoutTimings(resumed.slice(0, 36))).toEqual(withoutTimings(before));
    expect(withoutTimings(resumed)).toEqual(withoutTimings(expected));
    // Non-neighbours were chosen, so the resumed run exercised both kinds of draw.
    const nonNeighbourChosen = (record: InteractionRecord) =>
      record.target_id.some((id) => !neighboursOf(record.agent_id, goldenGlobalRunOptions.size).includes(id));
    expect(resumed.every((record) => record.target_id.length === 8 && nonNeighbourChosen(record))).toBe(true);
    // A fresh run with today's code chooses the same givers and writes the same records.
    expect(withoutTimings(await runGolden({ society, world: goldenGlobalRunOptions }))).toEqual(
      withoutTimings(expected),
    );
  });
});
