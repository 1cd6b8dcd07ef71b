/**
 * The prior world view (SPEC 1.2): labelled question -> answer pairs that seed each agent's memory,
 * good agents with aligned answers and bad agents with misaligned ones. Two file formats, detected
 * from the first record: labelled JSONL `{question, answer, label: "good" | "bad"}`, or HH-RLHF pairs
 * `{chosen, rejected}` (chosen -> good, rejected -> bad, at the turn where they first differ).
 */

import { extractAnswerPair } from "../data/hh-rlhf.js";
import { readLines } from "../data/line-reader.js";
import { createRandom, deriveSeed, sampleWithoutReplacement } from "../engine/random.js";
import { ConfigError, InputError } from "../spec/errors.js";
import type { AgentLabel } from "../spec/interaction-record.js";

/** A question and one answer to it. */
export interface QuestionAnswer {
  question: string;
  answer: string;
}

/** A loaded prior: answers by label, questions unique within a label (first answer kept). */
export interface Prior {
  /** Where it came from: a path, or `builtin:starter`. */
  source: string;
  format: "labelled" | "hh-rlhf";
  answers: Record<AgentLabel, QuestionAnswer[]>;
  /** HH-RLHF records without a usable answer pair (identical dialogues, ...), skipped. */
  skipped: number;
}

/** Builds a prior from pairs already in memory (the built-in starter set, tests). */
export function createPrior({
  source,
  format = "labelled",
  entries,
  skipped = 0,
}: {
  source: string;
  format?: Prior["format"];
  entries: Iterable<QuestionAnswer & { label: AgentLabel }>;
  skipped?: number;
}): Prior {
  const answers: Record<AgentLabel, QuestionAnswer[]> = { good: [], bad: [] };
  const seen: Record<AgentLabel, Set<string>> = { good: new Set(), bad: new Set() };
  for (const { question, answer, label } of entries) {
    if (seen[label].has(question)) continue;
    seen[label].add(question);
    answers[label].push({ question, answer });
  }
  return { source, format, answers, skipped };
}

function nonEmptyString(value: unknown): value is string {
  return typeof value === "string" && value.trim() !== "";
}

/**
 * Reads a prior file (JSONL, gzip read directly). Throws InputError naming the file and line for
 * invalid JSON, a record of neither format, or a label other than good/bad.
 */
export async function loadPrior({ path }: { path: string }): Promise<Prior> {
  const entries: (QuestionAnswer & { label: AgentLabel })[] = [];
  let format: Prior["format"] | undefined;
  let skipped = 0;
  for await (const { text, line } of readLines({ path })) {
    if (text.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new InputError("not valid JSON; a prior is JSONL of {question, answer, label} or {chosen, rejected}", {
        file: path,
        line,
      });
    }
    const record = (typeof value === "object" && value !== null ? value : {}) as Record<string, unknown>;
    format ??= "chosen" in record && "rejected" in record ? "hh-rlhf" : "labelled";
    if (format === "hh-rlhf") {
      if (!nonEmptyString(record.chosen) || !nonEmptyString(record.rejected)) {
        throw new InputError('an HH-RLHF record needs string fields "chosen" and "rejected"', { file: path, line });
      }
      const extracted = extractAnswerPair({ chosen: record.chosen, rejected: record.rejected });
      if ("problem" in extracted) {
        skipped += 1;
        continue;
      }
      const { question, good, bad } = extracted.pair;
      entries.push({ question, answer: good, label: "good" }, { question, answer: bad, label: "bad" });
      continue;
    }
    if (!nonEmptyString(record.question) || !nonEmptyString(record.answer)) {
      throw new InputError('a labelled prior record needs non-empty string fields "question" and "answer"', {
        file: path,
        line,
      });
    }
    if (record.label !== "good" && record.label !== "bad") {
      throw new InputError(`"label" must be "good" or "bad", got ${JSON.stringify(record.label)}`, {
        file: path,
        line,
      });
    }
    entries.push({ question: record.question.trim(), answer: record.answer.trim(), label: record.label });
  }
  if (format === undefined) throw new InputError("the prior file is empty", { file: path });
  return createPrior({ source: path, format, entries, skipped });
}

/**
 * Each agent's prior memories: `perAgent` distinct pairs of its label, a seeded sample per agent.
 * Throws ConfigError when a label some agent has offers fewer than `perAgent` pairs.
 */
export function samplePriorMemories({
  prior,
  labels,
  perAgent,
  seed,
}: {
  prior: Prior;
  /** Every agent's label, in id order. */
  labels: readonly AgentLabel[];
  /** Pairs per agent (reference: 50). */
  perAgent: number;
  seed: number;
}): QuestionAnswer[][] {
  if (!Number.isInteger(perAgent) || perAgent < 0) {
    throw new ConfigError(`--prior-size must be a whole number >= 0, got ${perAgent}`, { field: "prior-size" });
  }
  for (const label of new Set(labels)) {
    const available = prior.answers[label].length;
    if (available < perAgent) {
      throw new ConfigError(
        `${prior.source}: the prior has ${available} ${label} pair(s) but each ${label} agent needs ${perAgent}; ` +
          "lower --prior-size or use a larger prior",
        { field: "prior-size", file: prior.source },
      );
    }
  }
  return labels.map((label, agentId) =>
    sampleWithoutReplacement({
      items: prior.answers[label],
      count: perAgent,
      random: createRandom({ seed: deriveSeed(seed, "prior", agentId), algorithm: "mulberry32" }),
    }),
  );
}
