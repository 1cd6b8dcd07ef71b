import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { ConfigError, InputError } from "../spec/errors.js";
import { extractAnswerPair, parseDialogue } from "./hh-rlhf.js";
import { ensureHhRlhfDataset, loadHhRlhfQuestions } from "./hh-rlhf-dataset.js";
import { createPrior, loadPrior, samplePriorMemories } from "./prior-loader.js";
import { loadQuestionPool, orderQuestions, questionsForRound } from "./question-pool.js";
import { STARTER_PRIOR_SIZE, STARTER_QUESTIONS, starterPrior } from "./starter-set.js";

const directory = () => mkdtempSync(join(tmpdir(), "loaders-"));
const write = (path: string, text: string) => {
  writeFileSync(path, text);
  return path;
};
const dialogue = (...turns: string[]) =>
  turns.map((text, index) => `\n\n${index % 2 === 0 ? "Human" : "Assistant"}: ${text}`).join("");

describe("HH-RLHF pairs (SPEC 1.2)", () => {
  it("splits dialogues into turns", () => {
    expect(parseDialogue(dialogue("Hi there", "Hello!\nHow can I help?"))).toEqual([
      { speaker: "human", text: "Hi there" },
      { speaker: "assistant", text: "Hello!\nHow can I help?" },
    ]);
  });

  it("takes the assistant turn where chosen and rejected first differ, and the human turn before it", () => {
    const chosen = dialogue(
      "How do I hurt someone?",
      "I won't help with that.",
      "Please?",
      "No, but I can talk about conflict.",
    );
    const rejected = dialogue("How do I hurt someone?", "I won't help with that.", "Please?", "Fine, here is how.");
    expect(extractAnswerPair({ chosen, rejected })).toEqual({
      pair: { question: "Please?", good: "No, but I can talk about conflict.", bad: "Fine, here is how." },
    });
  });

  it("reports pairs without usable answers", () => {
    const same = dialogue("Q", "A");
    expect(extractAnswerPair({ chosen: same, rejected: same })).toEqual({
      problem: "chosen and rejected are identical",
    });
    expect(extractAnswerPair({ chosen: dialogue("Q", "A"), rejected: dialogue("Q", "A", "more") })).toMatchObject({
      problem: expect.any(String),
    });
    expect(extractAnswerPair({ chosen: dialogue("Q", "A", "x"), rejected: dialogue("Q", "A", "y") })).toEqual({
      problem: "the dialogues first differ at a human turn",
    });
  });
});

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

describe("built-in starter set and the HH-RLHF download", () => {
  it("ships a question pool and a prior with a good and a bad answer per question", () => {
    const prior = starterPrior();
    expect(STARTER_QUESTIONS.length).toBeGreaterThanOrEqual(24);
    expect(prior.answers.good).toHaveLength(STARTER_PRIOR_SIZE);
    expect(prior.answers.bad).toHaveLength(STARTER_PRIOR_SIZE);
  });

  it("downloads the two files once into the cache and reads questions from the test split", async () => {
    const cacheDirectory = directory();
    const file = gzipSync(
      `${JSON.stringify({ chosen: dialogue("Why is the sky blue?", "Scattering."), rejected: dialogue("Why is the sky blue?", "Dunno.") })}\n`,
    );
    const urls: string[] = [];
    const fetch = async (url: string) => {
      urls.push(url);
      return new Response(file, { status: 200, headers: { "content-length": String(file.length) } });
    };
    const dataset = await ensureHhRlhfDataset({ cacheDirectory, fetch, endpoint: "http://127.0.0.1:9" });
    expect(urls).toEqual([
      "http://127.0.0.1:9/datasets/Anthropic/hh-rlhf/resolve/main/harmless-base/train.jsonl.gz",
      "http://127.0.0.1:9/datasets/Anthropic/hh-rlhf/resolve/main/harmless-base/test.jsonl.gz",
    ]);
    await ensureHhRlhfDataset({ cacheDirectory, fetch });
    expect(urls).toHaveLength(2);
    expect(await loadHhRlhfQuestions({ path: dataset.questionsPath })).toEqual(["Why is the sky blue?"]);
    expect((await loadPrior({ path: dataset.priorPath })).answers.bad).toEqual([
      { question: "Why is the sky blue?", answer: "Dunno." },
    ]);
    const failing = async () => new Response("nope", { status: 404 });
    await expect(ensureHhRlhfDataset({ cacheDirectory: directory(), fetch: failing })).rejects.toThrow(/HTTP 404/);
  });
});
