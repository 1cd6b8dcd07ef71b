import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { ConfigError, InputError } from "../spec/errors.js";
import { createPrior, loadPrior, samplePriorMemories } from "./prior-loader.js";
import { STARTER_PRIOR_SIZE, STARTER_QUESTIONS, starterPrior } from "./starter-set.js";

const directory = () => mkdtempSync(join(tmpdir(), "loaders-"));
const write = (path: string, text: string) => {
  writeFileSync(path, text);
  return path;
};
const dialogue = (...turns: string[]) =>
  turns.map((text, index) => `\n\n${index % 2 === 0 ? "Human" : "Assistant"}: ${text}`).join("");

describe("prior files", () => {
  it("detects HH-RLHF pair files (gzip too) and labels chosen good, rejected bad", async () => {
    const path = join(directory(), "pairs.jsonl.gz");
    const lines = [
      { chosen: dialogue("Q1", "good one"), rejected: dialogue("Q1", "bad one") },
      { chosen: dialogue("Q2", "same"), rejected: dialogue("Q2", "same") },
    ];
    writeFileSync(path, gzipSync(lines.map((line) => JSON.stringify(line)).join("\n")));
    const prior = await loadPrior({ path });
    expect(prior.format).toBe("hh-rlhf");
    expect(prior.answers.good).toEqual([{ question: "Q1", answer: "good one" }]);
    expect(prior.answers.bad).toEqual([{ question: "Q1", answer: "bad one" }]);
    expect(prior.skipped).toBe(1);
  });

  it("reads labelled JSONL and names the file and line of bad records", async () => {
    const root = directory();
    const good = write(
      join(root, "prior.jsonl"),
      '{"question":"q","answer":"a","label":"good"}\n\n{"question":"q2","answer":"b","label":"bad"}\n',
    );
    const prior = await loadPrior({ path: good });
    expect(prior.format).toBe("labelled");
    expect(prior.answers.bad).toEqual([{ question: "q2", answer: "b" }]);
    const badLabel = write(
      join(root, "bad.jsonl"),
      '{"question":"q","answer":"a","label":"good"}\n{"question":"q","answer":"a","label":"nice"}\n',
    );
    await expect(loadPrior({ path: badLabel })).rejects.toThrow(InputError);
    await expect(loadPrior({ path: badLabel })).rejects.toThrow(/bad\.jsonl:2: "label" must be "good" or "bad"/);
    const notJson = write(join(root, "broken.jsonl"), "{oops\n");
    await expect(loadPrior({ path: notJson })).rejects.toThrow(/broken\.jsonl:1: not valid JSON/);
    await expect(loadPrior({ path: join(root, "missing.jsonl") })).rejects.toThrow(/missing\.jsonl/);
  });

  it("samples each agent's prior from its label and refuses a prior with too few pairs of a label", () => {
    const prior = createPrior({
      source: "p.jsonl",
      entries: [
        ...["a", "b", "c"].map((question) => ({ question, answer: `good ${question}`, label: "good" as const })),
        { question: "a", answer: "bad a", label: "bad" as const },
      ],
    });
    const memories = samplePriorMemories({ prior, labels: ["good", "good"], perAgent: 2, seed: 1 });
    expect(memories.map((pairs) => pairs.length)).toEqual([2, 2]);
    expect(memories.flat().every((pair) => pair.answer.startsWith("good"))).toBe(true);
    expect(() => samplePriorMemories({ prior, labels: ["good", "bad"], perAgent: 2, seed: 1 })).toThrow(ConfigError);
    expect(() => samplePriorMemories({ prior, labels: ["good", "bad"], perAgent: 2, seed: 1 })).toThrow(
      /p\.jsonl: the prior has 1 bad pair\(s\) but each bad agent needs 2; lower --prior-size/,
    );
  });
});

describe("built-in starter set", () => {
  it("ships a question pool and a prior with a good and a bad answer per question", () => {
    const prior = starterPrior();
    expect(STARTER_QUESTIONS.length).toBeGreaterThanOrEqual(24);
    expect(prior.answers.good).toHaveLength(STARTER_PRIOR_SIZE);
    expect(prior.answers.bad).toHaveLength(STARTER_PRIOR_SIZE);
  });
});
