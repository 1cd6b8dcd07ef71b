import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildAlignmentData } from "../data/build-alignment-data.js";
import { runTestSimulation } from "../sandbox/test-support/test-simulation.js";

describe("data build from a run's SQLite store", () => {
  it("reads run.sqlite when records.jsonl is gone and builds exactly the same data", async () => {
    const run = await runTestSimulation({ size: 3, rounds: 2 });
    const output = mkdtempSync(join(tmpdir(), "data-from-store-"));
    const fromJsonl = join(output, "from-jsonl.json");
    const fromStore = join(output, "from-store.json");
    const jsonlReport = await buildAlignmentData({ runs: [run.directory], out: fromJsonl, mix: { mode: "all" } });
    rmSync(join(run.directory, "records.jsonl"));
    const storeReport = await buildAlignmentData({ runs: [run.directory], out: fromStore, mix: { mode: "all" } });
    expect(run.records).toHaveLength(18);
    expect(storeReport.files).toEqual([join(run.directory, "run.sqlite")]);
    expect({ ...storeReport, files: [], out: "" }).toEqual({ ...jsonlReport, files: [], out: "" });
    expect(readFileSync(fromStore, "utf8")).toBe(readFileSync(fromJsonl, "utf8"));
    expect(JSON.parse(readFileSync(fromStore, "utf8")).length).toBeGreaterThan(0);
  });
});
