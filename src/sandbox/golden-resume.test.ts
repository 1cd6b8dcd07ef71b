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
import { goldenRunDirectory, runGolden } from "./test-support/golden-run.js";
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
});
