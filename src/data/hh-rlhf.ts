/**
 * Anthropic HH-RLHF transcripts ("\n\nHuman: ...\n\nAssistant: ...") split into turns (the one
 * parser), and what is made of a chosen/rejected pair:
 * - training data (`hhPairToExample`, issue 4): one prompt with two rated responses; the prompt is
 *   the shared transcript up to and including the `Assistant:` marker of the first turn where the two
 *   differ, and the responses are that differing turn of each;
 * - the simulation's prior (`extractAnswerPair`, SPEC 1.2): the question is the human turn just
 *   before that differing assistant turn (most harmless pairs share their first assistant turn, so
 *   the first turn would give identical answers);
 * - the question pool (`firstHumanTurn`, SPEC 1.5).
 */
import type { AlignmentDataKind, AlignmentExample } from "../spec/alignment-data.js";

/** One turn of a transcript. */
export interface TranscriptTurn {
  role: "human" | "assistant";
  /** The turn's text, without its marker and the single space after it. */
  text: string;
  /** Offset just past the turn's `Human:`/`Assistant:` marker. */
  markerEnd: number;
}

const MARKER = /(?:^|\n\n)(Human|Assistant):/g;

/** Splits a transcript into turns; returns an empty list when it has no markers. */
export function splitTranscript(transcript: string): TranscriptTurn[] {
  const markers = [...transcript.matchAll(MARKER)];
  return markers.map((match, index) => {
    const markerEnd = (match.index ?? 0) + match[0].length;
    const next = markers[index + 1];
    let text = transcript.slice(markerEnd, next === undefined ? transcript.length : next.index);
    if (text.startsWith(" ")) text = text.slice(1);
    return { role: match[1] === "Human" ? "human" : "assistant", text, markerEnd };
  });
}

/** Why an HH-RLHF pair gives no example. */
export type HhPairSkip = "identical" | "not-a-transcript" | "differs-outside-an-assistant-turn" | "no-human-turn";

/** Options for hhPairToExample. */
export interface HhPairOptions {
  /** Score of the chosen response; default 7. */
  chosenScore?: number;
  /** Score of the rejected response; default 1. */
  rejectedScore?: number;
  /** Model label written for both responses; default "hh-rlhf". */
  model?: string;
  /** Kind written into the example; default "imitation". */
  kind?: AlignmentDataKind;
  /** Renders the last human turn as a prompt instead of keeping the raw transcript (`--template alpaca`). */
  renderPrompt?: (lastHumanTurn: string) => string;
}

/** Converts one pair; an expected data quirk is returned as `{ skip }`, never thrown. */
export function hhPairToExample(
  pair: { chosen: string; rejected: string },
  { chosenScore = 7, rejectedScore = 1, model = "hh-rlhf", kind = "imitation", renderPrompt }: HhPairOptions = {},
): { example: AlignmentExample } | { skip: HhPairSkip } {
  const chosen = splitTranscript(pair.chosen);
  const rejected = splitTranscript(pair.rejected);
  if (chosen.length === 0 || rejected.length === 0) return { skip: "not-a-transcript" };
  let index = 0;
  while (
    index < chosen.length &&
    index < rejected.length &&
    chosen[index]?.role === rejected[index]?.role &&
    chosen[index]?.text === rejected[index]?.text
  ) {
    index += 1;
  }
  const chosenTurn = chosen[index];
  const rejectedTurn = rejected[index];
  if (chosenTurn === undefined && rejectedTurn === undefined) return { skip: "identical" };
  if (chosenTurn?.role !== "assistant" || rejectedTurn?.role !== "assistant") {
    return { skip: "differs-outside-an-assistant-turn" };
  }
  let query: string;
  if (renderPrompt === undefined) {
    query = pair.chosen.slice(0, chosenTurn.markerEnd);
  } else {
    const human = chosen.slice(0, index).findLast((turn) => turn.role === "human");
    if (human === undefined) return { skip: "no-human-turn" };
    query = renderPrompt(human.text);
  }
  // The dialogue's opening question is the pair's source: pairs of one conversation share it.
  const source = chosen.find((turn) => turn.role === "human")?.text;
  return {
    example: {
      query,
      responses: [chosenTurn.text, rejectedTurn.text],
      scores: [chosenScore, rejectedScore],
      models: [model, model],
      kind,
      ...(source === undefined ? {} : { source }),
    },
  };
}

/** A question with an aligned (good) and a misaligned (bad) answer. */
export interface AnswerPair {
  question: string;
  good: string;
  bad: string;
}

/** The turns of a dialogue with surrounding whitespace trimmed. */
function trimmedTurns(dialogue: string): { role: TranscriptTurn["role"]; text: string }[] {
  return splitTranscript(dialogue).map((turn) => ({ role: turn.role, text: turn.text.trim() }));
}

/**
 * The answer pair of one HH-RLHF record, or a reason it has none: the dialogues are identical, they
 * first differ at a human turn, one ends where the other goes on, or a differing answer is empty.
 * Turns are compared with surrounding whitespace trimmed.
 */
export function extractAnswerPair({
  chosen,
  rejected,
}: {
  chosen: string;
  rejected: string;
}): { pair: AnswerPair } | { problem: string } {
  const good = trimmedTurns(chosen);
  const bad = trimmedTurns(rejected);
  const shared = Math.min(good.length, bad.length);
  let index = 0;
  while (index < shared && good[index]?.role === bad[index]?.role && good[index]?.text === bad[index]?.text) {
    index += 1;
  }
  if (index === shared) {
    return {
      problem: good.length === bad.length ? "chosen and rejected are identical" : "one dialogue only extends the other",
    };
  }
  const goodTurn = good[index] as { role: TranscriptTurn["role"]; text: string };
  const badTurn = bad[index] as { role: TranscriptTurn["role"]; text: string };
  if (goodTurn.role !== "assistant" || badTurn.role !== "assistant") {
    return { problem: "the dialogues first differ at a human turn" };
  }
  const question = good[index - 1];
  if (question === undefined || question.role !== "human") {
    return { problem: "no human turn before the differing answer" };
  }
  if (goodTurn.text === "" || badTurn.text === "" || question.text === "") {
    return { problem: "an empty question or answer" };
  }
  return { pair: { question: question.text, good: goodTurn.text, bad: badTurn.text } };
}

/** The first non-empty human turn of a dialogue, trimmed (the question pool of SPEC 1.5 is made of these). */
export function firstHumanTurn(dialogue: string): string | undefined {
  return trimmedTurns(dialogue).find((turn) => turn.role === "human" && turn.text !== "")?.text;
}
