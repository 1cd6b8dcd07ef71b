/**
 * The fake server's answer to a vLLM-style scoring request (`/v1/completions` with `echo: true` and
 * `logprobs`), computed with a `local:` checkpoint by this toolkit's own decoder. The response shape
 * follows vLLM (vllm/entrypoints/openai/serving_completion.py at commit
 * 00463e627b4cbe549b5e9815a2bdb0100ae88ea9, `request_output_to_completion_response` and
 * `_create_completion_logprobs`): one choice per prompt; `logprobs.tokens` holds the prompt's tokens
 * then one generated token; the first prompt token's text is its own decoding (BOS included) and its
 * log-probability null; later tokens' texts are incremental decodings (an unfinished character gives
 * "" until it completes); `text_offset` is the running sum of those texts' lengths.
 */
import { createBlas } from "../engine/index.js";
import { loadCheckpoint } from "../model/checkpoint.js";
import { createInferenceDecoder, type InferenceDecoder } from "../model/generation/inference-decoder.js";
import { logProbabilityOf } from "../model/generation/sampler.js";
import { loadTokenizer, type Tokenizer } from "../model/tokenizer/tokenizer.js";

/** Answers echo scoring requests; see the module comment. */
export interface EchoScorer {
  /**
   * The JSON answer to a `/v1/completions` body with `echo`, or a problem (sent as HTTP 400) when the
   * body cannot be scored.
   */
  answer(body: Record<string, unknown>, id: number): { json: string } | { problem: string };
}

/** Loads the checkpoint in `directory` (config.json, safetensors, tokenizer.json) for echo scoring. */
export async function createEchoScorer({ directory }: { directory: string }): Promise<EchoScorer> {
  const checkpoint = await loadCheckpoint({ directory });
  const tokenizer = await loadTokenizer({ directory });
  const decoder = createInferenceDecoder({
    config: checkpoint.config,
    weights: checkpoint.weights,
    blas: createBlas({ backend: "typescript" }),
  });
  return {
    answer(body, id) {
      const prompts = typeof body.prompt === "string" ? [body.prompt] : body.prompt;
      if (!Array.isArray(prompts) || prompts.length === 0 || !prompts.every((prompt) => typeof prompt === "string")) {
        return { problem: "prompt must be a string or a non-empty array of strings" };
      }
      const choices: unknown[] = [];
      let promptTokens = 0;
      for (const [index, prompt] of (prompts as string[]).entries()) {
        const tokens = tokenizer.encode(prompt, { addSpecialTokens: true });
        if (tokens.length === 0) return { problem: `prompt ${index} has no tokens` };
        if (tokens.length + 1 > decoder.config.maxPositions) {
          return {
            problem: `prompt ${index} is ${tokens.length} tokens; the model's context is ${decoder.config.maxPositions}`,
          };
        }
        promptTokens += tokens.length;
        choices.push(echoChoice({ decoder, tokenizer, tokens, prompt, index }));
      }
      return {
        json: JSON.stringify({
          id: `cmpl-${id}`,
          object: "text_completion",
          created: 0,
          model: typeof body.model === "string" ? body.model : "fake-model",
          choices,
          usage: {
            prompt_tokens: promptTokens,
            completion_tokens: choices.length,
            total_tokens: promptTokens + choices.length,
          },
        }),
      };
    },
  };
}

function echoChoice({
  decoder,
  tokenizer,
  tokens,
  prompt,
  index,
}: {
  decoder: InferenceDecoder;
  tokenizer: Tokenizer;
  tokens: number[];
  prompt: string;
  index: number;
}): Record<string, unknown> {
  const vocabulary = decoder.config.vocabularySize;
  const session = decoder.createSession({ capacity: tokens.length });
  const logits = session.append(tokens, { allLogits: true });
  const row = (position: number): Float32Array => logits.subarray(position * vocabulary, (position + 1) * vocabulary);
  // Greedy: the one token generated after the echoed prompt (max_tokens 1, temperature 0).
  const last = row(tokens.length - 1);
  let generated = 0;
  for (let candidate = 1; candidate < vocabulary; candidate += 1) {
    if ((last[candidate] as number) > (last[generated] as number)) generated = candidate;
  }
  const ids = [...tokens, generated];
  const texts = incrementalTexts(tokenizer, ids);
  const tokenLogprobs: (number | null)[] = [null];
  for (let position = 1; position < ids.length; position += 1) {
    tokenLogprobs.push(Math.max(-9999, logProbabilityOf(row(position - 1), ids[position] as number)));
  }
  const textOffset: number[] = [];
  let offset = 0;
  for (const text of texts) {
    textOffset.push(offset);
    offset += text.length;
  }
  const topLogprobs = texts.map((text, position) => {
    const value = tokenLogprobs[position];
    return value === null || value === undefined ? null : { [text]: value };
  });
  return {
    index,
    text: prompt + (texts.at(-1) ?? ""),
    logprobs: { tokens: texts, token_logprobs: tokenLogprobs, top_logprobs: topLogprobs, text_offset: textOffset },
    finish_reason: "length",
  };
}

/**
 * Each token's text as vLLM reports it: the first token decoded alone (special tokens kept), then the
 * new text each token adds to the decoded sequence (special tokens skipped), "" while a character is
 * unfinished.
 */
function incrementalTexts(tokenizer: Tokenizer, ids: readonly number[]): string[] {
  const first = ids[0] as number;
  const texts = [tokenizer.decode([first])];
  let emitted = tokenizer.decode([first], { skipSpecialTokens: true });
  for (let count = 2; count <= ids.length; count += 1) {
    const decoded = tokenizer.decode(ids.slice(0, count), { skipSpecialTokens: true });
    if (decoded.length <= emitted.length || decoded.endsWith("\uFFFD")) {
      texts.push("");
      continue;
    }
    texts.push(decoded.slice(emitted.length));
    emitted = decoded;
  }
  return texts;
}
