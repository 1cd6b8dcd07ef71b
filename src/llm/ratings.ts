/**
 * Asking a language model for a rating (SPEC 1.6 steps 2, 4, 7): one integer on a scale (1-7 by
 * default) and a reason, in the form `Rating: N ### Reason: ...`. Where the model can be constrained
 * (`capabilities.grammar`, else `capabilities.jsonSchema`) the answer is constrained; the reply is
 * parsed robustly either way (parse-rating.ts), an unreadable reply is asked again a bounded number of times, and what
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
import { DEFAULT_RATING_SCALE, parseRating, type RatingScale } from "./parse-rating.js";

export { type ParsedRating, parseRating, type RatingScale } from "./parse-rating.js";

/** The outcome of asking for a rating. `attempts` counts the calls made (1 when the first reply was readable). */
export type RatingResult =
  | { valid: true; rating: number; reason: string; attempts: number; raw: string; usage: TokenUsage }
  | { valid: false; raw: string; attempts: number; usage: TokenUsage };

/** How the helper constrains the answer: `auto` picks grammar, then JSON schema, then plain text. */
export type RatingFormat = "auto" | "text" | "json-schema" | "grammar";

/** The message appended (chat models) before asking again; `{minimum}` and `{maximum}` are filled in. */
export const DEFAULT_REPAIR_INSTRUCTION =
  "That reply could not be read. Answer again on a single line in exactly this form: " +
  "Rating: <a whole number from {minimum} to {maximum}> ### Reason: <one or two sentences>";

const DEFAULT_SCALE: RatingScale = DEFAULT_RATING_SCALE;

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
