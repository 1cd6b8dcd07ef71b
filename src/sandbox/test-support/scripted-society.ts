/**
 * Deterministic answers for a whole society, for tests and the benchmark: drafts, revisions and
 * ratings derived from a hash of the prompt (and sampling seed), so the same request always gets the
 * same answer and a resumed run can be compared with an uninterrupted one field by field.
 */
import { createHash } from "node:crypto";

/** Which Back-Scatter prompt a request is (recognised from the built-in prompt wording). */
export type PromptKind = "draft" | "peer-rating" | "observer-alignment" | "observer-engagement" | "revision" | "repair";

/** The request fields the responder looks at (a GenerateRequest or an OpenAI request body). */
export interface SocietyRequest {
  messages?: readonly { role: string; content: string }[] | undefined;
  prompt?: string | undefined;
  seed?: number | undefined;
  sampling?: { seed?: number | undefined } | undefined;
}

/** The text of the last user turn (or the completion prompt). */
export function promptTextOf(request: SocietyRequest): string {
  if (request.messages !== undefined) {
    const users = request.messages.filter((message) => message.role === "user");
    return users.at(-1)?.content ?? "";
  }
  return request.prompt ?? "";
}

/** Recognises the prompt kind from its text. */
export function classifyPrompt(text: string): PromptKind {
  if (text.startsWith("That reply could not be read")) return "repair";
  if (/Agent \d+'s answer:/.test(text)) return "peer-rating";
  if (text.includes("how engaging the answer is")) return "observer-engagement";
  if (text.includes("Judge the answer impartially")) return "observer-alignment";
  if (text.includes("New answer:")) return "revision";
  return "draft";
}

function hashNumber(text: string): number {
  return createHash("sha256").update(text).digest().readUInt32LE(0);
}

/** Options of {@link societyAnswer}. */
export interface SocietyAnswerOptions {
  /** Answer rating prompts for which this returns true (given the original prompt) with unreadable text. Default: none. */
  invalid?: (kind: PromptKind, text: string) => boolean;
}

/** A deterministic answer to one request. */
export function societyAnswer(request: SocietyRequest, { invalid }: SocietyAnswerOptions = {}): string {
  const text = promptTextOf(request);
  const seed = request.seed ?? request.sampling?.seed ?? 0;
  const all = request.messages?.map((message) => message.content).join("\n") ?? text;
  const hash = hashNumber(`${seed}\n${all}`);
  const kind = classifyPrompt(text);
  // A re-ask ends with the repair message; what is being rated is in the first user turn.
  const firstText = request.messages?.find((message) => message.role === "user")?.content ?? text;
  const firstKind = classifyPrompt(firstText);
  if (kind === "draft") return `draft ${hash.toString(16)}`;
  if (kind === "revision") return `revision ${hash.toString(16)}`;
  if (invalid?.(firstKind, firstText)) return `cannot say (${hash % 100})`;
  return `Rating: ${1 + (hash % 7)} ### Reason: ${firstKind} reason ${hash.toString(16)}`;
}
