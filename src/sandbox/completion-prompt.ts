/**
 * How a completion (non-chat) model is asked (SPEC 1.3): the request as one human turn of an HH-style
 * transcript, `Human: <text>\n\nAssistant:`, stopped before it writes the next human turn. It gets no
 * system prompt: that is a chat agent's instruction.
 */

/** Generation stops before this: a base model continuing the transcript would start the next turn. */
export const COMPLETION_STOP = "\nHuman:";

/** `Human: <text>\n\nAssistant:` for a completion model. */
export function completionPrompt(text: string): string {
  return `Human: ${text}\n\nAssistant:`;
}

/** The sampling options with {@link COMPLETION_STOP} added to any stops already there. */
export function withCompletionStop<T extends { stop?: readonly string[] }>(sampling: T): T {
  const stop = sampling.stop ?? [];
  return { ...sampling, stop: stop.includes(COMPLETION_STOP) ? stop : [...stop, COMPLETION_STOP] };
}
