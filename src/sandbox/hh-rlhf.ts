/**
 * HH-RLHF dialogue pairs (SPEC 1.2). A pair is two dialogues, `chosen` and `rejected`, written as
 * "\n\nHuman: ...\n\nAssistant: ..." turns that share a prefix. The good and bad answers are the
 * assistant turn where the two first differ, and the question is the human turn just before it:
 * most harmless pairs share their first assistant turn, so the first turn would give identical answers.
 */

/** One turn of a dialogue. */
export interface DialogueTurn {
  speaker: "human" | "assistant";
  text: string;
}

/** A question with an aligned (good) and a misaligned (bad) answer. */
export interface AnswerPair {
  question: string;
  good: string;
  bad: string;
}

const TURN = /(?:^|\n\n)(Human|Assistant):[ \t]?/g;

/** Splits an HH-RLHF dialogue into turns; text before the first speaker tag is ignored. */
export function parseDialogue(text: string): DialogueTurn[] {
  const turns: DialogueTurn[] = [];
  const marks = [...text.matchAll(TURN)];
  marks.forEach((mark, index) => {
    const start = (mark.index ?? 0) + mark[0].length;
    const end = marks[index + 1]?.index ?? text.length;
    turns.push({ speaker: mark[1] === "Human" ? "human" : "assistant", text: text.slice(start, end).trim() });
  });
  return turns;
}

/**
 * The answer pair of one HH-RLHF record, or a reason it has none: the dialogues are identical, they
 * first differ at a human turn, one ends where the other goes on, or a differing answer is empty.
 */
export function extractAnswerPair({
  chosen,
  rejected,
}: {
  chosen: string;
  rejected: string;
}): { pair: AnswerPair } | { problem: string } {
  const good = parseDialogue(chosen);
  const bad = parseDialogue(rejected);
  const shared = Math.min(good.length, bad.length);
  let index = 0;
  while (index < shared && good[index]?.speaker === bad[index]?.speaker && good[index]?.text === bad[index]?.text) {
    index += 1;
  }
  if (index === shared) {
    return {
      problem: good.length === bad.length ? "chosen and rejected are identical" : "one dialogue only extends the other",
    };
  }
  const goodTurn = good[index] as DialogueTurn;
  const badTurn = bad[index] as DialogueTurn;
  if (goodTurn.speaker !== "assistant" || badTurn.speaker !== "assistant") {
    return { problem: "the dialogues first differ at a human turn" };
  }
  const question = good[index - 1];
  if (question === undefined || question.speaker !== "human") {
    return { problem: "no human turn before the differing answer" };
  }
  if (goodTurn.text === "" || badTurn.text === "" || question.text === "") {
    return { problem: "an empty question or answer" };
  }
  return { pair: { question: question.text, good: goodTurn.text, bad: badTurn.text } };
}

/** The first human turn of a dialogue (the question pool of SPEC 1.5 is made of these). */
export function firstHumanTurn(dialogue: string): string | undefined {
  return parseDialogue(dialogue).find((turn) => turn.speaker === "human" && turn.text !== "")?.text;
}
