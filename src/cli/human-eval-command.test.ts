import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { openStudy } from "../eval/human-eval/open-study.js";
import { markItemShown, raterView, submitVote } from "../eval/human-eval/rater-session.js";
import { writeGenerationFixture } from "../eval/human-eval/test-support/generation-fixture.js";
import { acquireRunLock } from "../store/run-lock.js";
import { runCliProcess } from "./cli-process.js";

let root: string;
let links: { raterId: string; link: string }[];

/** Each rater prefers the refusal ("I won't help") on every pair and the better gold answer, 10 s per item. */
function voteAsCarefulRaters(directory: string): void {
  const study = openStudy({ directory });
  try {
    for (const { raterId } of links) {
      for (const item of raterView({ study, raterId }).items) {
        markItemShown({ study, raterId, itemId: item.itemId, now: 1_000 });
        const aRefuses = /won't help|can't help|I can't|I won't/.test(item.answerA);
        const bRefuses = /won't help|can't help|I can't|I won't/.test(item.answerB);
        const gold = !/Sure, here is how/.test(item.answerA + item.answerB);
        const choice = gold
          ? item.answerA.length >= item.answerB.length
            ? "A"
            : "B"
          : aRefuses === bRefuses
            ? "tie"
            : aRefuses
              ? "A"
              : "B";
        const result = submitVote({
          study,
          raterId,
          form: { itemId: item.itemId, choice, ratingA: aRefuses ? "7" : "2", ratingB: bRefuses ? "7" : "2" },
          now: 11_000,
        });
        expect(result).toEqual({ ok: true });
      }
    }
  } finally {
    study.close();
  }
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "sa-human-eval-"));
  await writeGenerationFixture({ directory: join(root, "eval"), models: ["careful", "reckless"] });
  const created = await runCliProcess({
    args: [
      "human-eval",
      "create",
      "--from",
      join(root, "eval"),
      "--models",
      "careful,reckless",
      "--per-item",
      "3",
      "--gold",
      "50%",
      "--seed",
      "4",
      "--out",
      join(root, "study"),
      "--json",
    ],
  });
  expect(created.stderr).toBe("");
  expect(created.code).toBe(0);
  links = JSON.parse(created.stdout).raterLinks;
  expect(links).toHaveLength(3);
  voteAsCarefulRaters(join(root, "study"));
}, 120_000);

describe("human-eval", () => {
  it("export --format eval is refused whole while an evaluation run is locked, naming the holder", async () => {
    const reportOf = () => {
      const path = join(root, "eval", "report.md");
      return existsSync(path) ? readFileSync(path, "utf8") : undefined;
    };
    const before = reportOf();
    const lock = acquireRunLock({ directory: join(root, "eval"), command: "eval judge" });
    try {
      const refused = await runCliProcess({ args: ["human-eval", "export", join(root, "study"), "--format", "eval"] });
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(new RegExp(`in use by pid ${process.pid} \\(eval judge`));
    } finally {
      lock.release();
    }
    expect(reportOf()).toBe(before);
  }, 120_000);

  it("three raters vote -> eval report shows the human judge's win rate with its interval beside the LM judge", async () => {
    const recorded = await runCliProcess({ args: ["human-eval", "export", join(root, "study"), "--format", "eval"] });
    expect(recorded.code).toBe(0);
    expect(recorded.stdout).toContain("wrote 12 human verdicts"); // 6 items x 2 directions
    // The run's report files, which `serve` draws, are rewritten with the human judge in them.
    for (const file of ["report.json", "report.md", "report.html"])
      expect(readFileSync(join(root, "eval", file), "utf8")).toContain("human-eval:study");
    const report = await runCliProcess({ args: ["eval", "report", join(root, "eval")] });
    expect(report.code).toBe(0);
    // careful wins all 6 items for the humans, and the LM judge (7 vs 2) agrees on every one.
    expect(report.stdout).toMatch(
      /\| careful \| reckless \| human \(human-eval:study\) \| 1\.00 \[1\.00, 1\.00\] \| 6 \| 1\.00 \[1\.00, 1\.00\] \| 1\.00 \|/,
    );
    expect(report.stdout).toMatch(
      /\| reckless \| careful \| human \(human-eval:study\) \| 0\.00 \[0\.00, 0\.00\] \| 6 \|/,
    );
  }, 120_000);

  it("export --format dpo writes pairs that data import reads", async () => {
    const pairs = join(root, "pairs.dpo.jsonl");
    const exported = await runCliProcess({
      args: ["human-eval", "export", join(root, "study"), "--format", "dpo", "--out", pairs],
    });
    expect(exported.stdout).toContain("wrote 6 dpo preference pairs");
    const first = JSON.parse(readFileSync(pairs, "utf8").split("\n")[0] as string);
    expect(first.chosen).toMatch(/I won't help/);
    expect(first.rejected).toMatch(/Sure, here is how/);
    expect([first.score_chosen, first.score_rejected]).toEqual([7, 2]);
    const imported = join(root, "imported.json");
    const result = await runCliProcess({
      args: ["data", "import", pairs, "--format", "jsonl", "--chosen-field", "chosen", "--out", imported, "--json"],
    });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const examples = JSON.parse(readFileSync(imported, "utf8")) as {
      query: string;
      responses: string[];
      scores: number[];
    }[];
    expect(examples).toHaveLength(6);
    expect(examples[0]?.scores).toEqual([7, 1]);
    expect(examples[0]?.responses[0]).toMatch(/I won't help/);
    expect(examples[0]?.query).toMatch(/^How do I /);
  }, 120_000);

  it("refuses a bad gold file with one line naming file and line", async () => {
    const result = await runCliProcess({
      args: [
        "human-eval",
        "create",
        "--from",
        join(root, "eval"),
        "--models",
        "careful,reckless",
        "--gold-file",
        join(root, "pairs.dpo.jsonl"),
        "--out",
        join(root, "other"),
      ],
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toContain(`${join(root, "pairs.dpo.jsonl")}:1: field "question" is missing`);
  }, 120_000);
});
