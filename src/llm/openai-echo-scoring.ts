/**
 * Likelihood scoring over the OpenAI completions API with `echo` and `logprobs`, as vLLM serves it
 * (vllm/entrypoints/openai/serving_completion.py at commit 00463e627b4cbe549b5e9815a2bdb0100ae88ea9,
 * `request_output_to_completion_response` and `_create_completion_logprobs`): with `echo: true`,
 * `logprobs: 0` and `max_tokens: 1`, each choice echoes the prompt's tokens followed by one generated
 * token; `logprobs.tokens` holds each token's decoded text, `token_logprobs` its log-probability (null
 * for the first prompt token, which has nothing to condition on; clamped at -9999), and `text_offset`
 * the running sum of the decoded tokens' lengths (so a leading BOS shifts every offset by its text).
 *
 * The continuation's tokens are found from the end of the prompt, never from the start: the tokens
 * that end where the prompt ends and whose texts join to exactly the continuation. When no token starts
 * exactly at the context's end (a token straddles it), or the decoded texts do not reproduce the
 * continuation (a character split across tokens), the score is invalid instead of a guess.
 */
import type { ContinuationScore } from "../spec/scoring.js";

/** The request body that asks a completions endpoint to echo prompt log-probabilities. */
export function echoScoringBody({
  model,
  context,
  continuations,
}: {
  model: string;
  context: string;
  continuations: readonly string[];
}): Record<string, unknown> {
  return {
    model,
    prompt: continuations.map((continuation) => context + continuation),
    echo: true,
    logprobs: 0,
    max_tokens: 1,
    temperature: 0,
  };
}

interface EchoLogprobs {
  tokens: unknown[];
  token_logprobs: unknown[];
  text_offset: unknown[];
}

/**
 * Reads one score per continuation from an echo answer (`choices[i].index` names the prompt).
 * Returns undefined when the answer does not have the echo shape at all (the caller reports a bad
 * response); a choice that cannot be read with certainty gives an invalid score.
 */
export function readEchoScores({
  json,
  continuations,
}: {
  json: Record<string, unknown>;
  continuations: readonly string[];
}): ContinuationScore[] | undefined {
  const choices = json.choices;
  if (!Array.isArray(choices)) return undefined;
  const byIndex = new Map<number, EchoLogprobs>();
  for (const [position, choice] of choices.entries()) {
    if (typeof choice !== "object" || choice === null) return undefined;
    const { index, logprobs } = choice as { index?: unknown; logprobs?: unknown };
    const key = typeof index === "number" ? index : position;
    if (!isEchoLogprobs(logprobs)) return undefined;
    byIndex.set(key, logprobs);
  }
  return continuations.map((continuation, index): ContinuationScore => {
    const logprobs = byIndex.get(index);
    if (logprobs === undefined) return { valid: false, reason: `the answer has no choice ${index}` };
    return scoreFromEcho({ logprobs, continuation });
  });
}

function isEchoLogprobs(value: unknown): value is EchoLogprobs {
  if (typeof value !== "object" || value === null) return false;
  const { tokens, token_logprobs: logprobs, text_offset: offsets } = value as Record<string, unknown>;
  return (
    Array.isArray(tokens) &&
    Array.isArray(logprobs) &&
    Array.isArray(offsets) &&
    tokens.length === logprobs.length &&
    tokens.length === offsets.length
  );
}

function scoreFromEcho({
  logprobs,
  continuation,
}: {
  logprobs: EchoLogprobs;
  continuation: string;
}): ContinuationScore {
  const { tokens, token_logprobs: values, text_offset: offsets } = logprobs;
  if (!tokens.every((token) => typeof token === "string") || !offsets.every((offset) => Number.isInteger(offset))) {
    return { valid: false, reason: "the echoed tokens or offsets are not strings and integers" };
  }
  const texts = tokens as string[];
  const starts = offsets as number[];
  // max_tokens 1: the last token is generated, the ones before it are the prompt. If the server sent
  // no generated token, the prompt is everything; the first reading that fits is taken, generated first.
  for (const promptTokens of [texts.length - 1, texts.length]) {
    if (promptTokens < 1) continue;
    const end = (starts[promptTokens - 1] as number) + (texts[promptTokens - 1] as string).length;
    const boundary = end - continuation.length;
    const first = starts.findIndex((start, index) => index < promptTokens && start === boundary);
    if (first < 0) continue;
    if (texts.slice(first, promptTokens).join("") !== continuation) continue;
    if (first === 0)
      return { valid: false, reason: "the continuation starts the prompt: nothing conditions its first token" };
    const tokenLogProbabilities: number[] = [];
    for (let index = first; index < promptTokens; index += 1) {
      const value = values[index];
      if (typeof value !== "number" || !Number.isFinite(value)) {
        return { valid: false, reason: `the server gave no log-probability for prompt token ${index}` };
      }
      if (value <= -9999) return { valid: false, reason: "a token's log-probability is at the server's -9999 clamp" };
      tokenLogProbabilities.push(value);
    }
    const logProbability = tokenLogProbabilities.reduce((total, value) => total + value, 0);
    return { valid: true, logProbability, tokenLogProbabilities, tokenCount: tokenLogProbabilities.length };
  }
  return {
    valid: false,
    reason:
      "no echoed token starts at the context's end (a token straddles it, or the decoded tokens do not spell the continuation)",
  };
}
