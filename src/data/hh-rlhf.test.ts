import { describe, expect, it } from "vitest";
import { extractAnswerPair, firstHumanTurn, splitTranscript } from "./hh-rlhf.js";

const dialogue = (...turns: string[]) =>
  turns.map((text, index) => `\n\n${index % 2 === 0 ? "Human" : "Assistant"}: ${text}`).join("");

describe("HH-RLHF pairs (SPEC 1.2)", () => {
  it("splits dialogues into turns (one parser for the prior, the question pool and training data)", () => {
    const text = dialogue("Hi there", "Hello!\nHow can I help?");
    expect(splitTranscript(text).map(({ role, text }) => ({ role, text }))).toEqual([
      { role: "human", text: "Hi there" },
      { role: "assistant", text: "Hello!\nHow can I help?" },
    ]);
    expect(firstHumanTurn("\n\nHuman:\t Why?  \n\nAssistant: Because.")).toBe("Why?");
    expect(firstHumanTurn("no markers")).toBeUndefined();
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
