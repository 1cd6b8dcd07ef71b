/**
 * Text generation and scoring on the inference decoder: prompt in, tokens sampled one at a time
 * through the key/value cache until an end token, a stop string or the token budget; and the
 * log-likelihood of a completion given a prompt, for likelihood-based evaluation.
 */
import { createRandom } from "../../engine/index.js";
import { CancelledError } from "../../spec/errors.js";
import type { Tokenizer } from "../tokenizer/tokenizer.js";
import type { InferenceDecoder } from "./inference-decoder.js";
import { type SamplerOptions, sampleToken } from "./sampler.js";

/** Options of {@link generateText}. */
export interface GenerateTextOptions extends SamplerOptions {
  decoder: InferenceDecoder;
  tokenizer: Tokenizer;
  /** Prompt token ids (encode text with the tokenizer, BOS included where the model wants it). */
  promptTokens: readonly number[];
  /** Most new tokens. Default 256. */
  maxTokens?: number;
  /** Generation stops before the first of these strings; the text excludes it. Default none. */
  stop?: readonly string[];
  /** Token ids that end generation (excluded from the text). Default: the tokenizer's end tokens. */
  endTokenIds?: readonly number[];
  /** Sampling seed. Default 0. */
  seed?: number;
  /** Cancels generation between tokens with CancelledError. */
  signal?: AbortSignal;
}

/** What generation produced. */
export interface GeneratedText {
  text: string;
  /** New token ids, end token excluded. */
  tokens: number[];
  /** `stop`: an end token or stop string; `length`: maxTokens or the context filled up. */
  finishReason: "stop" | "length";
  promptTokens: number;
}

/**
 * Generates a continuation of `promptTokens`. The session's capacity is prompt + maxTokens, capped at
 * the model's maxPositions (a longer prompt throws RangeError). Yields to the event loop between
 * tokens so timers and cancellation keep working.
 */
export async function generateText({
  decoder,
  tokenizer,
  promptTokens,
  maxTokens = 256,
  stop = [],
  endTokenIds = tokenizer.endTokenIds,
  temperature = 1,
  topP = 1,
  seed = 0,
  signal,
}: GenerateTextOptions): Promise<GeneratedText> {
  if (promptTokens.length === 0) throw new RangeError("generation needs at least one prompt token");
  const maxPositions = decoder.config.maxPositions;
  if (promptTokens.length >= maxPositions) {
    throw new RangeError(`the prompt has ${promptTokens.length} tokens; the model's context is ${maxPositions}`);
  }
  const capacity = Math.min(maxPositions, promptTokens.length + Math.max(maxTokens, 1));
  const session = decoder.createSession({ capacity });
  const random = createRandom({ seed });
  const ends = new Set(endTokenIds);
  const tokens: number[] = [];
  let logits = session.append(promptTokens);
  let text = "";
  for (;;) {
    if (tokens.length >= maxTokens) return { text, tokens, finishReason: "length", promptTokens: promptTokens.length };
    const token = sampleToken({ logits, random, temperature, topP });
    if (ends.has(token)) return { text, tokens, finishReason: "stop", promptTokens: promptTokens.length };
    tokens.push(token);
    text = tokenizer.decode(tokens);
    const cut = earliestStop(text, stop);
    if (cut !== undefined)
      return { text: text.slice(0, cut), tokens, finishReason: "stop", promptTokens: promptTokens.length };
    if (session.length >= session.capacity) {
      return { text, tokens, finishReason: "length", promptTokens: promptTokens.length };
    }
    await new Promise((resolve) => setImmediate(resolve));
    if (signal?.aborted) throw new CancelledError("generation cancelled");
    logits = session.append([token]);
  }
}

function earliestStop(text: string, stop: readonly string[]): number | undefined {
  let earliest: number | undefined;
  for (const sequence of stop) {
    if (sequence === "") continue;
    const index = text.indexOf(sequence);
    if (index >= 0 && (earliest === undefined || index < earliest)) earliest = index;
  }
  return earliest;
}
