/**
 * `data stats`: what an alignment data file holds, per kind: examples, responses per prompt, score
 * histograms and token-length percentiles, computed in one streaming pass (token lengths are kept as
 * 32-bit counts, about 4 bytes per response).
 */
import type { AlignmentDataKind } from "../spec/alignment-data.js";
import { readAlignmentExamples } from "./alignment-example-reader.js";
import { ALIGNMENT_DATA_KINDS } from "./record-rows.js";
import { formatTable } from "./text-table.js";

/** Counts the tokens of a text. */
export type TokenCounter = (text: string) => number;

/**
 * An approximate token count without a tokenizer: runs of letters or digits count one each and
 * every other non-space character counts one. Close to a BPE count for English prose.
 */
export function countApproximateTokens(text: string): number {
  let count = 0;
  let inWord = false;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    const space = code === 32 || code === 10 || code === 9 || code === 13;
    const word =
      (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code >= 0xc0;
    if (word) {
      if (!inWord) count += 1;
      inWord = true;
    } else {
      inWord = false;
      if (!space) count += 1;
    }
  }
  return count;
}

/** Nearest-rank percentiles of a list of lengths (tokens). */
export interface LengthPercentiles {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
}

/** The statistics of one kind (or of the whole file). */
export interface KindStats {
  examples: number;
  responses: number;
  /** Examples by response count: index 1..9, and index 10 for ten or more (index 0 unused). */
  responsesPerPrompt: number[];
  /** Responses by score: keys "1".."7", and "other" for scores that are not integers on the scale. */
  scores: Record<string, number>;
  promptTokens: LengthPercentiles;
  responseTokens: LengthPercentiles;
}

/** The statistics of a file. */
export interface AlignmentDataStats {
  file: string;
  /** Which counter measured the token lengths. */
  tokenizer: string;
  total: KindStats;
  kinds: Record<AlignmentDataKind, KindStats>;
}

class LengthList {
  private values = new Uint32Array(1024);
  length = 0;
  sum = 0;
  push(value: number): void {
    if (this.length === this.values.length) {
      const grown = new Uint32Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length] = value;
    this.length += 1;
    this.sum += value;
  }
  percentiles(): LengthPercentiles {
    const sorted = this.values.slice(0, this.length).sort();
    const rank = (percent: number): number =>
      sorted.length === 0 ? 0 : (sorted[Math.max(0, Math.ceil((percent / 100) * sorted.length) - 1)] as number);
    return {
      count: this.length,
      mean: this.length === 0 ? 0 : this.sum / this.length,
      p50: rank(50),
      p90: rank(90),
      p95: rank(95),
      p99: rank(99),
      max: rank(100),
    };
  }
}

interface Accumulator {
  examples: number;
  responses: number;
  responsesPerPrompt: number[];
  scores: Record<string, number>;
  prompts: LengthList;
  responseLengths: LengthList;
}

function createAccumulator(): Accumulator {
  const scores: Record<string, number> = { other: 0 };
  for (let score = 1; score <= 7; score += 1) scores[String(score)] = 0;
  return {
    examples: 0,
    responses: 0,
    responsesPerPrompt: new Array<number>(11).fill(0),
    scores,
    prompts: new LengthList(),
    responseLengths: new LengthList(),
  };
}

/** Reads `path` once and computes the statistics; token lengths use `countTokens` (default approximate). */
export async function computeAlignmentDataStats({
  path,
  countTokens = countApproximateTokens,
  tokenizer = "approximate (words and punctuation)",
}: {
  path: string;
  countTokens?: TokenCounter;
  tokenizer?: string;
}): Promise<AlignmentDataStats> {
  const total = createAccumulator();
  const perKind = Object.fromEntries(ALIGNMENT_DATA_KINDS.map((kind) => [kind, createAccumulator()])) as Record<
    AlignmentDataKind,
    Accumulator
  >;
  for await (const { example } of readAlignmentExamples({ path })) {
    const promptTokens = countTokens(example.query);
    const responseTokens = example.responses.map((response) => countTokens(response));
    for (const accumulator of [total, perKind[example.kind]]) {
      accumulator.examples += 1;
      accumulator.responses += example.responses.length;
      const bin = Math.min(10, example.responses.length);
      accumulator.responsesPerPrompt[bin] = (accumulator.responsesPerPrompt[bin] as number) + 1;
      for (const score of example.scores) {
        const key = Number.isInteger(score) && score >= 1 && score <= 7 ? String(score) : "other";
        accumulator.scores[key] = (accumulator.scores[key] as number) + 1;
      }
      accumulator.prompts.push(promptTokens);
      for (const length of responseTokens) accumulator.responseLengths.push(length);
    }
  }
  const finish = (accumulator: Accumulator): KindStats => ({
    examples: accumulator.examples,
    responses: accumulator.responses,
    responsesPerPrompt: accumulator.responsesPerPrompt,
    scores: accumulator.scores,
    promptTokens: accumulator.prompts.percentiles(),
    responseTokens: accumulator.responseLengths.percentiles(),
  });
  return {
    file: path,
    tokenizer,
    total: finish(total),
    kinds: Object.fromEntries(ALIGNMENT_DATA_KINDS.map((kind) => [kind, finish(perKind[kind])])) as Record<
      AlignmentDataKind,
      KindStats
    >,
  };
}

/** The statistics as printable tables. */
export function renderStatsTables(stats: AlignmentDataStats): string {
  const named: [string, KindStats][] = [
    ...ALIGNMENT_DATA_KINDS.map((kind) => [kind, stats.kinds[kind]] as [string, KindStats]),
    ["all", stats.total],
  ];
  const sections: string[] = [`${stats.file}`];
  sections.push(
    formatTable({
      header: ["kind", "examples", "responses", "responses/prompt"],
      rows: named.map(([name, kind]) => [
        name,
        kind.examples,
        kind.responses,
        kind.examples === 0 ? 0 : kind.responses / kind.examples,
      ]),
    }),
  );
  const perPromptHeader = ["kind", ...Array.from({ length: 9 }, (_, index) => String(index + 1)), "10+"];
  sections.push(
    `responses per prompt (examples with that many responses)\n${formatTable({
      header: perPromptHeader,
      rows: named.map(([name, kind]) => [name, ...kind.responsesPerPrompt.slice(1)]),
    })}`,
  );
  const scoreKeys = ["1", "2", "3", "4", "5", "6", "7", "other"];
  sections.push(
    `scores (responses with that score)\n${formatTable({
      header: ["kind", ...scoreKeys],
      rows: named.map(([name, kind]) => [name, ...scoreKeys.map((key) => kind.scores[key] ?? 0)]),
    })}`,
  );
  const lengthRows: (string | number)[][] = [];
  for (const [name, kind] of named) {
    for (const [part, lengths] of [
      ["prompt", kind.promptTokens],
      ["response", kind.responseTokens],
    ] as const) {
      lengthRows.push([
        name,
        part,
        lengths.count,
        lengths.mean,
        lengths.p50,
        lengths.p90,
        lengths.p95,
        lengths.p99,
        lengths.max,
      ]);
    }
  }
  sections.push(
    `token lengths (${stats.tokenizer})\n${formatTable({
      header: ["kind", "text", "count", "mean", "p50", "p90", "p95", "p99", "max"],
      rows: lengthRows,
    })}`,
  );
  return `${sections.join("\n\n")}\n`;
}
