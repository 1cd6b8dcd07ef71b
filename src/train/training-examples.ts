/**
 * Alignment rows turned into what the trainer feeds the model: for each prompt, its tokens and each
 * response's tokens with its rating; the held-out split drawn by source id (the question an
 * interaction answered), so no question is on both sides.
 */
import { createHash } from "node:crypto";
import type { LocatedExample } from "../data/alignment-example-reader.js";
import { renderChatTemplate } from "../model/tokenizer/chat-template.js";
import type { Tokenizer } from "../model/tokenizer/tokenizer.js";
import type { AlignmentDataKind } from "../spec/alignment-data.js";
import { ConfigError, InputError } from "../spec/errors.js";
import type { PromptFormat } from "./training-settings.js";

/** One response ready to train on. */
export interface TrainingResponse {
  /** Response tokens, ending with the end-of-sequence token when the tokenizer has one. */
  tokens: number[];
  rating: number;
}

/** One prompt ready to train on. */
export interface TrainingPrompt {
  /** The data file's line the row starts on (for messages naming a batch). */
  line: number;
  /** The question the row's interactions answered (the split and NaN reports name it). */
  sourceId: string;
  kind: AlignmentDataKind;
  /** Prompt tokens (BOS included where the tokenizer adds one). */
  promptTokens: number[];
  responses: TrainingResponse[];
}

/** What preparation kept, held out and skipped (counted by reason, never silent). */
export interface PreparedTrainingData {
  train: TrainingPrompt[];
  heldOut: TrainingPrompt[];
  /** Skipped responses and prompts by reason, e.g. `{ "empty response": 2 }`. */
  skipped: Record<string, number>;
}

/** The prompt text of a query in each format. */
export function formatPrompt({
  query,
  format,
  tokenizer,
}: {
  query: string;
  format: PromptFormat;
  tokenizer: Tokenizer;
}): { prompt: string; responsePrefix: string } {
  if (format === "verbatim") return { prompt: query, responsePrefix: "" };
  if (format === "hh") return { prompt: `\n\nHuman: ${query}\n\nAssistant:`, responsePrefix: " " };
  if (tokenizer.chatTemplate === undefined) {
    throw new ConfigError("--prompt-format chat: the checkpoint's tokenizer has no chat template; use verbatim or hh", {
      field: "promptFormat",
    });
  }
  const prompt = renderChatTemplate({
    template: tokenizer.chatTemplate,
    messages: [{ role: "user", content: query }],
    specialTokens: tokenizer.specialTokenStrings,
  });
  return { prompt, responsePrefix: "" };
}

/** A uniform number in [0, 1) from (seed, source id): the held-out draw, stable across runs and files. */
export function sourceDraw({ seed, sourceId }: { seed: number; sourceId: string }): number {
  return createHash("sha256").update(`${seed}\u0000${sourceId}`).digest().readUInt32LE(0) / 4294967296;
}

/**
 * Tokenizes rows for training. Ratings outside 1..ratingScale are refused (InputError naming the file
 * and line); an empty response, or one with no room beside at least one prompt token at `maxLength`,
 * is skipped and counted, as is a row left with no response. Prompts longer than the room left are
 * cut from the left when batched (see `promptWindow`).
 */
export function prepareTrainingData({
  rows,
  file,
  tokenizer,
  format,
  maxLength,
  ratingScale,
  evalSplit,
  seed,
}: {
  rows: Iterable<LocatedExample>;
  file: string;
  tokenizer: Tokenizer;
  format: PromptFormat;
  maxLength: number;
  ratingScale: number;
  evalSplit: number;
  seed: number;
}): PreparedTrainingData {
  const prepared: PreparedTrainingData = { train: [], heldOut: [], skipped: {} };
  const skip = (reason: string) => {
    prepared.skipped[reason] = (prepared.skipped[reason] ?? 0) + 1;
  };
  const end = tokenizer.eosTokenId === undefined ? [] : [tokenizer.eosTokenId];
  for (const { example, line } of rows) {
    const { prompt, responsePrefix } = formatPrompt({ query: example.query, format, tokenizer });
    const promptTokens = tokenizer.encode(prompt, { addSpecialTokens: format !== "chat" });
    if (promptTokens.length === 0) {
      skip("empty prompt");
      continue;
    }
    const responses: TrainingResponse[] = [];
    for (const [index, text] of example.responses.entries()) {
      const rating = example.scores[index] as number;
      if (!Number.isInteger(rating) || rating < 1 || rating > ratingScale) {
        throw new InputError(
          `scores[${index}] is ${rating}, outside the rating scale 1-${ratingScale} (--rating-scale)`,
          { file, line },
        );
      }
      if (text.trim() === "") {
        skip("empty response");
        continue;
      }
      const tokens = [...tokenizer.encode(responsePrefix + text), ...end];
      if (tokens.length + 1 > maxLength) {
        skip("response leaves no room for the prompt at --max-length");
        continue;
      }
      responses.push({ tokens, rating });
    }
    if (responses.length === 0) {
      skip("row with no trainable response");
      continue;
    }
    // Rows without a source (files from elsewhere) are their own question.
    const source = example.source ?? example.query;
    const entry: TrainingPrompt = { line, sourceId: source, kind: example.kind, promptTokens, responses };
    if (sourceDraw({ seed, sourceId: source }) < evalSplit) prepared.heldOut.push(entry);
    else prepared.train.push(entry);
  }
  return prepared;
}

/** The prompt tokens that fit beside a response at `maxLength`: the prompt's end, cut from the left. */
export function promptWindow({
  promptTokens,
  responseLength,
  maxLength,
}: {
  promptTokens: readonly number[];
  responseLength: number;
  maxLength: number;
}): readonly number[] {
  const room = maxLength - responseLength;
  return promptTokens.length <= room ? promptTokens : promptTokens.slice(promptTokens.length - room);
}
