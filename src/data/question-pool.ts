/**
 * Question pools (SPEC 1.5): a text file with one question per line, or JSON Lines `{ "question": ... }`
 * (gzip read directly). Round r hands agents 0..N-1 the slice questions[r*N .. (r+1)*N), wrapping
 * around; questions keep file order unless shuffled with a seed.
 */

import { createRandom, deriveSeed, shuffle } from "../engine/random.js";
import { InputError } from "../spec/errors.js";
import { readLines } from "./line-reader.js";

/**
 * Reads a question pool. The format is JSON Lines when the first non-blank line starts with `{`,
 * else plain text (blank lines skipped). Throws InputError naming the file and line.
 */
export async function loadQuestionPool({ path }: { path: string }): Promise<string[]> {
  const questions: string[] = [];
  let format: "text" | "jsonl" | undefined;
  for await (const { text, line } of readLines({ path })) {
    const trimmed = text.trim();
    if (trimmed === "") continue;
    format ??= trimmed.startsWith("{") ? "jsonl" : "text";
    if (format === "text") {
      questions.push(trimmed);
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch {
      throw new InputError("not valid JSON (question pools are text, one question per line, or JSONL)", {
        file: path,
        line,
      });
    }
    const question = (value as { question?: unknown } | null)?.question;
    if (typeof question !== "string" || question.trim() === "") {
      throw new InputError('expected an object with a non-empty string field "question"', { file: path, line });
    }
    questions.push(question.trim());
  }
  if (questions.length === 0) throw new InputError("the question pool is empty", { file: path });
  return questions;
}

/** The pool in the order it is handed out: file order, or a seeded shuffle. */
export function orderQuestions(
  pool: readonly string[],
  { shuffled, seed }: { shuffled: boolean; seed: number },
): string[] {
  return shuffled
    ? shuffle({ items: pool, random: createRandom({ seed: deriveSeed(seed, "questions"), algorithm: "mulberry32" }) })
    : [...pool];
}

/** The question of every agent in a round: questions[(round * agentCount + agent) mod pool size]. */
export function questionsForRound({
  pool,
  round,
  agentCount,
}: {
  pool: readonly string[];
  round: number;
  agentCount: number;
}): string[] {
  if (pool.length === 0) throw new RangeError("question pool is empty");
  return Array.from({ length: agentCount }, (_, agent) => pool[(round * agentCount + agent) % pool.length] as string);
}
