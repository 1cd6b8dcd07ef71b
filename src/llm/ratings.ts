/**
 * Asking a language model for a rating (SPEC 1.6 steps 2, 4, 7): one integer on a scale (1-7 by
 * default) and a reason, in the form `Rating: N ### Reason: ...`. Where the model can be constrained
 * (`capabilities.grammar`, else `capabilities.jsonSchema`) the answer is constrained; the reply is
 * parsed robustly either way, an unreadable reply is asked again a bounded number of times, and what
 * stays unreadable comes back as `{ valid: false }`: never a made-up number.
 */
import type {
  ChatMessage,
  GenerateRequest,
  JsonSchema,
  LanguageModel,
  ResponseFormat,
  SamplingOptions,
  TokenUsage,
} from "../spec/language-model.js";

/** The outcome of asking for a rating. `attempts` counts the calls made (1 when the first reply was readable). */
export type RatingResult =
  | { valid: true; rating: number; reason: string; attempts: number; raw: string; usage: TokenUsage }
  | { valid: false; raw: string; attempts: number; usage: TokenUsage };

/** The rating scale, inclusive. Default 1..7. */
export interface RatingScale {
  minimum: number;
  maximum: number;
}

/** How the helper constrains the answer: `auto` picks grammar, then JSON schema, then plain text. */
export type RatingFormat = "auto" | "text" | "json-schema" | "grammar";

/** The message appended (chat models) before asking again; `{minimum}` and `{maximum}` are filled in. */
export const DEFAULT_REPAIR_INSTRUCTION =
  "That reply could not be read. Answer again on a single line in exactly this form: " +
  "Rating: <a whole number from {minimum} to {maximum}> ### Reason: <one or two sentences>";

const DEFAULT_SCALE: RatingScale = { minimum: 1, maximum: 7 };

/** A GBNF grammar that only admits `Rating: N ### Reason: <text on one line>` with N on the scale. */
export function ratingGrammar(scale: RatingScale = DEFAULT_SCALE): string {
  const digits = Array.from({ length: scale.maximum - scale.minimum + 1 }, (_, index) => `"${scale.minimum + index}"`);
  return [
    `root ::= "Rating: " rating " ### Reason: " reason`,
    `rating ::= ${digits.join(" | ")}`,
    `reason ::= [^\\n#] [^\\n]*`,
  ].join("\n");
}

/** A JSON schema for `{ "rating": N, "reason": "..." }` with N on the scale. */
export function ratingJsonSchema(scale: RatingScale = DEFAULT_SCALE): JsonSchema {
  return {
    type: "object",
    properties: {
      rating: { type: "integer", minimum: scale.minimum, maximum: scale.maximum },
      reason: { type: "string" },
    },
    required: ["rating", "reason"],
    additionalProperties: false,
  };
}

/** A parsed reply: the rating and reason, or why it could not be read. */
export type ParsedRating = { valid: true; rating: number; reason: string } | { valid: false; problem: string };

function cleanReason(text: string): string {
  return text
    .replace(/^[\s*_:#=\-–—.]+/, "")
    .replace(/[\s*_]+$/, "")
    .trim();
}

function checkRating(value: unknown, scale: RatingScale): number | string {
  const number = typeof value === "string" && /^\s*-?\d+(\.\d+)?\s*$/.test(value) ? Number(value) : value;
  if (typeof number !== "number" || !Number.isFinite(number)) return "no numeric rating";
  if (!Number.isInteger(number)) return `rating ${number} is not a whole number`;
  if (number < scale.minimum || number > scale.maximum) {
    return `rating ${number} is outside ${scale.minimum}-${scale.maximum}`;
  }
  return number;
}

function parseJsonRating(text: string, scale: RatingScale): ParsedRating | undefined {
  const start = text.indexOf("{");
  const end = text.lastIndexOf("}");
  if (start === -1 || end <= start) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text.slice(start, end + 1));
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const ratingKey = Object.keys(record).find((key) => /^(rating|score)$/i.test(key));
  if (ratingKey === undefined) return undefined;
  const rating = checkRating(record[ratingKey], scale);
  if (typeof rating === "string") return { valid: false, problem: rating };
  const reasonKey = Object.keys(record).find((key) => /^(reason|explanation|rationale)$/i.test(key));
  const reason = reasonKey === undefined ? "" : String(record[reasonKey] ?? "");
  return { valid: true, rating, reason: reason.trim() };
}

/**
 * Reads a rating from a reply: `Rating: N ### Reason: ...` with any spacing, case, Markdown emphasis,
 * `N/7` or `N out of 7`; a JSON object `{rating, reason}`; or a reply that starts with the number.
 * A rating off the scale or not a whole number is invalid. With `requireReason` (default true) a
 * reply without a reason is invalid too, since the protocol needs one.
 */
export function parseRating(
  text: string,
  { scale = DEFAULT_SCALE, requireReason = true }: { scale?: RatingScale; requireReason?: boolean } = {},
): ParsedRating {
  const json = parseJsonRating(text, scale);
  if (json?.valid) {
    if (requireReason && json.reason === "") return { valid: false, problem: "no reason given" };
    return json;
  }
  const labelled = /\brating\b[^0-9\n]{0,12}?(-?\d+(?:\.\d+)?)(?:\s*(?:\/\s*\d+|out of \d+))?/i.exec(text);
  const leading = labelled === null ? /^[\s*_#]*(-?\d+(?:\.\d+)?)(?:\s*(?:\/\s*\d+|out of \d+))?/.exec(text) : null;
  const match = labelled ?? leading;
  if (match === null || match[1] === undefined) return json ?? { valid: false, problem: "no rating found" };
  const rating = checkRating(match[1], scale);
  if (typeof rating === "string") return { valid: false, problem: rating };
  const rest = text.slice(match.index + match[0].length);
  const labelledReason = /\breason\b\s*[:=-]?/i.exec(rest);
  let reason: string;
  if (labelledReason !== null) reason = rest.slice(labelledReason.index + labelledReason[0].length);
  else if (rest.includes("###")) reason = rest.slice(rest.indexOf("###") + 3);
  else reason = rest;
  reason = cleanReason(reason);
  if (requireReason && reason === "") return { valid: false, problem: "no reason given" };
  return { valid: true, rating, reason };
}

function chooseFormat(model: LanguageModel, format: RatingFormat, scale: RatingScale): ResponseFormat | undefined {
  const wanted =
    format === "auto"
      ? model.capabilities.grammar
        ? "grammar"
        : model.capabilities.jsonSchema
          ? "json-schema"
          : "text"
      : format;
  if (wanted === "grammar") return { type: "grammar", gbnf: ratingGrammar(scale) };
  if (wanted === "json-schema") return { type: "json-schema", name: "rating", schema: ratingJsonSchema(scale) };
  return undefined;
}

/**
 * Asks `model` for a rating. Give `messages` for a chat model or `prompt` for a completion model.
 * Attempt k (from 1) uses `callIdentity + "/attempt:k"` and seed `sampling.seed + k - 1`, so every
 * attempt is cached and replayed on its own. Chat attempts after the first append the unreadable
 * reply and `repairInstruction`; completion attempts repeat the prompt. Provider errors propagate.
 */
export async function requestRating({
  model,
  messages,
  prompt,
  scale = DEFAULT_SCALE,
  maxAttempts = 3,
  format = "auto",
  sampling,
  callIdentity,
  signal,
  requireReason = true,
  repairInstruction = DEFAULT_REPAIR_INSTRUCTION,
}: {
  model: LanguageModel;
  messages?: readonly ChatMessage[];
  prompt?: string;
  /** Default 1..7. */
  scale?: RatingScale;
  /** Calls at most; default 3. */
  maxAttempts?: number;
  /** Default `auto`. */
  format?: RatingFormat;
  sampling?: SamplingOptions;
  /** Base identity for the response cache; default none. */
  callIdentity?: string;
  signal?: AbortSignal;
  /** Default true. */
  requireReason?: boolean;
  repairInstruction?: string;
}): Promise<RatingResult> {
  if ((messages === undefined) === (prompt === undefined)) {
    throw new TypeError("requestRating needs exactly one of messages or prompt");
  }
  const responseFormat = chooseFormat(model, format, scale);
  const usage: TokenUsage = { promptTokens: 0, completionTokens: 0 };
  const repair = repairInstruction
    .replaceAll("{minimum}", String(scale.minimum))
    .replaceAll("{maximum}", String(scale.maximum));
  let conversation = messages === undefined ? undefined : [...messages];
  let raw = "";
  const attemptLimit = Math.max(1, Math.floor(maxAttempts));
  for (let attempt = 1; attempt <= attemptLimit; attempt += 1) {
    const attemptSampling =
      sampling?.seed === undefined ? sampling : { ...sampling, seed: (sampling.seed + attempt - 1) % 2147483647 };
    const common = {
      ...(attemptSampling === undefined ? {} : { sampling: attemptSampling }),
      ...(responseFormat === undefined ? {} : { responseFormat }),
      ...(callIdentity === undefined ? {} : { callIdentity: `${callIdentity}/attempt:${attempt}` }),
      ...(signal === undefined ? {} : { signal }),
    };
    const request: GenerateRequest =
      conversation === undefined ? { ...common, prompt: prompt as string } : { ...common, messages: conversation };
    const result = await model.generate(request);
    usage.promptTokens += result.usage.promptTokens;
    usage.completionTokens += result.usage.completionTokens;
    raw = result.text;
    const parsed = parseRating(raw, { scale, requireReason });
    if (parsed.valid)
      return { valid: true, rating: parsed.rating, reason: parsed.reason, attempts: attempt, raw, usage };
    if (conversation !== undefined) {
      conversation = [...conversation, { role: "assistant", content: raw }, { role: "user", content: repair }];
    }
  }
  return { valid: false, raw, attempts: attemptLimit, usage };
}
