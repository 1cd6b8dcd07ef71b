import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadQuestionPool, orderQuestions, questionsForRound } from "./question-pool.js";

const directory = () => mkdtempSync(join(tmpdir(), "loaders-"));
const write = (path: string, text: string) => {
  writeFileSync(path, text);
  return path;
};

describe("question pools (SPEC 1.5)", () => {
  it("reads text and JSONL pools and hands out slices per round, wrapping around", async () => {
    const root = directory();
    expect(await loadQuestionPool({ path: write(join(root, "q.txt"), "one?\n\n two? \nthree?\n") })).toEqual([
      "one?",
      "two?",
      "three?",
    ]);
    expect(
      await loadQuestionPool({ path: write(join(root, "q.jsonl"), '{"question":"a"}\n{"question":"b"}\n') }),
    ).toEqual(["a", "b"]);
    await expect(
      loadQuestionPool({ path: write(join(root, "bad.jsonl"), '{"question":"a"}\n{"text":"b"}\n') }),
    ).rejects.toThrow(/bad\.jsonl:2: expected an object with a non-empty string field "question"/);
    await expect(loadQuestionPool({ path: write(join(root, "empty.txt"), "\n") })).rejects.toThrow(/empty/);
    const pool = ["q0", "q1", "q2", "q3", "q4"];
    expect(questionsForRound({ pool, round: 0, agentCount: 2 })).toEqual(["q0", "q1"]);
    expect(questionsForRound({ pool, round: 2, agentCount: 2 })).toEqual(["q4", "q0"]);
    expect(orderQuestions(pool, { shuffled: false, seed: 1 })).toEqual(pool);
    expect([...orderQuestions(pool, { shuffled: true, seed: 1 })].sort()).toEqual(pool);
  });
});
