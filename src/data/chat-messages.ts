/**
 * Chat-shaped exports (OpenAI fine-tuning files) need messages, not a flat prompt: an Alpaca prompt
 * becomes one user message (instruction, then the input), an HH-RLHF transcript becomes its turns,
 * and any other prompt is sent as it is.
 */
import type { ChatMessage } from "../spec/language-model.js";
import { parseAlpacaPrompt } from "./data-templates.js";
import { splitTranscript } from "./hh-rlhf.js";

/** The messages a prompt stands for, ending with a user message whenever the prompt has one. */
export function promptToMessages(prompt: string): ChatMessage[] {
  const alpaca = parseAlpacaPrompt(prompt);
  if (alpaca !== null) {
    return [
      {
        role: "user",
        content: alpaca.input === null ? alpaca.instruction : `${alpaca.instruction}\n\n${alpaca.input}`,
      },
    ];
  }
  const turns = splitTranscript(prompt);
  const last = turns[turns.length - 1];
  if (
    turns.length >= 2 &&
    last?.role === "assistant" &&
    last.text.trim() === "" &&
    prompt.trimStart().startsWith("Human:")
  ) {
    return turns
      .slice(0, -1)
      .map((turn) => ({ role: turn.role === "human" ? "user" : "assistant", content: turn.text }));
  }
  return [{ role: "user", content: prompt }];
}
