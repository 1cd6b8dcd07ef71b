import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { computeAlignmentDataStats, countApproximateTokens, renderStatsTables } from "./alignment-data-stats.js";
import { formatTable } from "./text-table.js";

let directory: string;
beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), "data-stats-"));
});
afterEach(() => {
  rmSync(directory, { recursive: true, force: true });
});

describe("alignment data stats", () => {
  it("counts examples, responses per prompt, scores and nearest-rank token percentiles per kind", async () => {
    const path = join(directory, "data.json");
    const responses = Array.from({ length: 10 }, (_, index) => "w ".repeat(index + 1).trim());
    writeFileSync(
      path,
      JSON.stringify([
        {
          query: "a b",
          responses,
          scores: [1, 2, 3, 4, 5, 6, 7, 7, 2.5, 9],
          models: responses.map(() => "m"),
          kind: "imitation",
        },
        { query: "c", responses: ["x", "y z"], scores: [6, 1], models: ["m", "m"], kind: "self-critic" },
      ]),
    );
    // One token per space-separated word makes the expected lengths easy to read.
    const stats = await computeAlignmentDataStats({
      path,
      countTokens: (text) => text.split(" ").length,
      tokenizer: "words",
    });
    expect(stats.total).toMatchObject({ examples: 2, responses: 12 });
    expect(stats.kinds.imitation.responsesPerPrompt[10]).toBe(1);
    expect(stats.kinds["self-critic"].responsesPerPrompt[2]).toBe(1);
    expect(stats.kinds.realignment.examples).toBe(0);
    expect(stats.kinds.imitation.scores).toEqual({ "1": 1, "2": 1, "3": 1, "4": 1, "5": 1, "6": 1, "7": 2, other: 2 });
    expect(stats.kinds.imitation.responseTokens).toEqual({
      count: 10,
      mean: 5.5,
      p50: 5,
      p90: 9,
      p95: 10,
      p99: 10,
      max: 10,
    });
    expect(stats.total.promptTokens).toMatchObject({ count: 2, p50: 1, max: 2 });
    const text = renderStatsTables(stats);
    expect(text).toContain("token lengths (words)");
    expect(text).toMatch(/imitation\s+1\s+10\s+10\n/);
  });

  it("approximates tokens as words and punctuation marks", () => {
    expect(countApproximateTokens("Hello, world! It's 2024.")).toBe(9);
    expect(countApproximateTokens("")).toBe(0);
  });

  it("aligns numbers right and text left", () => {
    expect(
      formatTable({
        header: ["name", "n"],
        rows: [
          ["a", 1.5],
          ["bbb", 10],
        ],
      }),
    ).toBe("name    n\n----  ---\na     1.5\nbbb    10");
  });
});
