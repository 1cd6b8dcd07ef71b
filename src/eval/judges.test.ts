import { describe, expect, it } from "vitest";
import type { GenerateRequest } from "../spec/language-model.js";
import { createScriptedModel } from "../test-kit/scripted-model.js";
import { comparePairwise, type PairwiseItem, summariseRubric } from "./judge-summary.js";
import { createPairwiseJudge, createRubricJudge, PAIRWISE_PROMPT_VERSION, parsePairwiseVerdict } from "./judges.js";

function promptOf(request: GenerateRequest): string {
  return request.messages ? (request.messages[0]?.content ?? "") : request.prompt;
}

/** The two replies as shown to the judge. */
function shownReplies(request: GenerateRequest): { a: string; b: string } {
  const prompt = promptOf(request);
  const a = /Reply A: ([\s\S]*?)\n\nReply B: /.exec(prompt)?.[1] ?? "";
  const b = /Reply B: ([\s\S]*?)\n\nAnswer on a single line/.exec(prompt)?.[1] ?? "";
  return { a, b };
}

const questions = Array.from({ length: 40 }, (_, index) => `Question number ${index}?`);

describe("pairwise judge", () => {
  it("a judge that always prefers the first shown reply gives 50% for two identical models", async () => {
    const judgeModel = createScriptedModel({ respond: "Verdict: A ### Reason: the first one reads well." });
    const items: PairwiseItem[] = questions.map((question, index) => ({
      itemId: `q${index}`,
      question,
      first: `The same answer ${index}.`,
      second: `The same answer ${index}.`,
    }));
    const summary = await comparePairwise({ judge: createPairwiseJudge({ model: judgeModel }), items });
    expect(summary.winRate.value).toBe(0.5);
    expect(summary.winRate.ties).toBe(40);
    expect(summary.invalid).toBe(0);
    expect(judgeModel.requests).toHaveLength(80);
    const first = summary.judgements[0]?.judgement;
    expect(first?.forward.promptVersion).toBe(PAIRWISE_PROMPT_VERSION);
    expect(first?.forward.raw).toContain("Verdict: A");
    expect(first?.forward.parsed).toBe("A");
  });

  it("a judge that always prefers model B's answer gives B a 100% win rate", async () => {
    const judgeModel = createScriptedModel({
      respond: (request) => {
        const { a } = shownReplies(request);
        return a.startsWith("Model B") ? "Verdict: A ### Reason: B." : "Verdict: B ### Reason: B.";
      },
    });
    const items: PairwiseItem[] = questions.map((question, index) => ({
      itemId: `q${index}`,
      question,
      first: `Model B answers ${index}.`,
      second: `Model A answers ${index}.`,
    }));
    const summary = await comparePairwise({ judge: createPairwiseJudge({ model: judgeModel }), items });
    expect(summary.winRate.value).toBe(1);
    expect(summary.winRate.wins).toBe(40);
    const swapped = await comparePairwise({
      judge: createPairwiseJudge({ model: judgeModel }),
      items: items.map((item) => ({ ...item, first: item.second, second: item.first })),
    });
    expect(swapped.winRate.value).toBe(0);
  });

  it("a judge that prefers the longer reply: raw rate well above 50%, length-controlled near 50%", async () => {
    const judgeModel = createScriptedModel({
      respond: (request) => {
        const { a, b } = shownReplies(request);
        return a.length >= b.length ? "Verdict: A ### Reason: more detail." : "Verdict: B ### Reason: more detail.";
      },
    });
    // The first model writes the longer answer on 30 of 40 items, by varying margins.
    const items: PairwiseItem[] = questions.map((question, index) => {
      const long = `A long and thorough answer ${"with more words ".repeat(2 + (index % 5))}`;
      const short = `Short answer ${index}.`;
      return index % 4 === 3
        ? { itemId: `q${index}`, question, first: short, second: long }
        : { itemId: `q${index}`, question, first: long, second: short };
    });
    const summary = await comparePairwise({ judge: createPairwiseJudge({ model: judgeModel }), items });
    expect(summary.winRate.value).toBe(0.75);
    expect(summary.lengthControlled.slope).toBeGreaterThan(1);
    expect(Math.abs(summary.lengthControlled.value - 0.5)).toBeLessThan(0.1);
    expect(summary.lengthControlled.lower).toBeLessThanOrEqual(summary.lengthControlled.value);
    expect(summary.lengthControlled.upper).toBeGreaterThanOrEqual(summary.lengthControlled.value);
    // The controlled interval leaves out the raw rate: length explains the preference.
    expect(summary.lengthControlled.upper).toBeLessThan(summary.winRate.value);
  });

  it("orders that disagree are a tie; an unreadable verdict is asked again, then counted as invalid", async () => {
    let calls = 0;
    const judgeModel = createScriptedModel({
      respond: (request) => {
        calls += 1;
        if (request.messages && request.messages.length > 1) return "Verdict: B ### Reason: on reflection.";
        return calls <= 1 ? "I cannot decide." : "Verdict: A ### Reason: ok.";
      },
    });
    const judgement = await createPairwiseJudge({ model: judgeModel }).compare({
      question: "q",
      first: "x",
      second: "y",
    });
    expect(judgement.forward.attempts).toBe(2);
    expect(judgement.forward.parsed).toBe("B");
    expect(judgement.reversed.parsed).toBe("A");
    // forward B = first loses, reversed A = second (shown as A) wins, so first loses both times.
    expect(judgement.outcome).toBe("loss");

    const stubborn = createScriptedModel({ respond: "Both are fine." });
    const invalid = await comparePairwise({
      judge: createPairwiseJudge({ model: stubborn, maxAttempts: 2 }),
      items: [{ itemId: "q", question: "q", first: "x", second: "y" }],
    });
    expect(invalid.invalid).toBe(1);
    expect(invalid.winRate.count).toBe(0);
    expect(stubborn.requests).toHaveLength(4);
  });

  it("reads verdicts strictly", () => {
    expect(parsePairwiseVerdict("**Verdict:** tie ### Reason: equal")).toEqual({
      valid: true,
      verdict: "tie",
      reason: "equal",
    });
    expect(parsePairwiseVerdict("<think>Verdict: A</think>Verdict: B ### Reason: x")).toMatchObject({ verdict: "B" });
    expect(parsePairwiseVerdict("Verdict: A. Actually Verdict: B").valid).toBe(false);
    expect(parsePairwiseVerdict("Answer A is better").valid).toBe(false);
  });
});

describe("rubric judge", () => {
  it("rates alignment and engagement with the observer rubric; invalid verdicts are counted, not averaged", async () => {
    const judgeModel = createScriptedModel({
      respond: (request) => {
        const prompt = promptOf(request);
        if (prompt.includes("UNREADABLE")) return "No idea.";
        return prompt.includes("aligned with shared social values")
          ? "Rating: 6 ### Reason: careful and honest."
          : "Rating: 4 ### Reason: a bit dry.";
      },
    });
    const judge = createRubricJudge({ model: judgeModel, maxAttempts: 2 });
    const good = await judge.judge({ question: "How do I stay safe?", answer: "Lock the door." });
    expect(good.alignment).toMatchObject({ valid: true, parsed: 6, reason: "careful and honest.", attempts: 1 });
    expect(good.alignment.promptVersion).toBe("observer-alignment@v1");
    expect(good.alignment.promptSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(good.engagement.parsed).toBe(4);
    const bad = await judge.judge({ question: "q", answer: "UNREADABLE" });
    expect(bad.alignment).toMatchObject({ valid: false, parsed: undefined, attempts: 2, raw: "No idea." });
    const summary = summariseRubric({ judgements: [good, good, bad] });
    expect(summary.alignment.value).toBe(6);
    expect(summary.alignment.count).toBe(2);
    expect(summary.invalidAlignment).toBe(1);
    expect(summary.engagement.value).toBe(4);
  });
});
