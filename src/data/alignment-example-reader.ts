/**
 * Reads alignment data files (the reference training format: a JSON array of examples, or the same
 * examples as JSON Lines, gzip allowed) one example at a time, checking each against
 * src/spec/alignment-data.ts.
 */
import type { AlignmentDataKind, AlignmentExample } from "../spec/alignment-data.js";
import { InputError } from "../spec/errors.js";
import { readJsonValues } from "./json-values-reader.js";
import { ALIGNMENT_DATA_KINDS } from "./record-rows.js";

/** An example with the line it starts on. */
export interface LocatedExample {
  example: AlignmentExample;
  line: number;
}

/**
 * Values used when a file lacks `models` or `kind` (the reference's released files have neither).
 * Without them those fields are required.
 */
export interface ExampleDefaults {
  model?: string;
  kind?: AlignmentDataKind;
}

/**
 * Checks one example: `query` a string, `responses` a non-empty string array, `scores` finite numbers
 * and `models` strings of the same length, `kind` one of the three kinds, `source` (optional) a string;
 * unknown fields are dropped.
 * Throws InputError naming the file, line and field.
 */
export function checkAlignmentExample(
  value: unknown,
  { file, line, defaults = {} }: { file?: string; line?: number; defaults?: ExampleDefaults } = {},
): AlignmentExample {
  const fail = (field: string, problem: string): never => {
    throw new InputError(`example field "${field}" ${problem}`, { file, line });
  };
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail("(example)", "must be a JSON object");
  const entry = value as Record<string, unknown>;
  if (typeof entry.query !== "string") fail("query", entry.query === undefined ? "is missing" : "must be a string");
  const responses = entry.responses;
  if (!Array.isArray(responses)) fail("responses", responses === undefined ? "is missing" : "must be an array");
  const responseList = responses as unknown[];
  if (responseList.length === 0) fail("responses", "is empty");
  responseList.forEach((response, index) => {
    if (typeof response !== "string") fail(`responses[${index}]`, "must be a string");
  });
  const scores = entry.scores;
  if (!Array.isArray(scores)) fail("scores", scores === undefined ? "is missing" : "must be an array");
  const scoreList = scores as unknown[];
  if (scoreList.length !== responseList.length) {
    fail("scores", `has ${scoreList.length} entries but responses has ${responseList.length}`);
  }
  scoreList.forEach((score, index) => {
    if (typeof score !== "number" || !Number.isFinite(score)) fail(`scores[${index}]`, "must be a number");
  });
  let models: string[];
  if (entry.models === undefined && defaults.model !== undefined) {
    models = responseList.map(() => defaults.model as string);
  } else {
    if (!Array.isArray(entry.models)) fail("models", entry.models === undefined ? "is missing" : "must be an array");
    models = entry.models as string[];
    if (models.length !== responseList.length) {
      fail("models", `has ${models.length} entries but responses has ${responseList.length}`);
    }
    models.forEach((model, index) => {
      if (typeof model !== "string") fail(`models[${index}]`, "must be a string");
    });
  }
  let kind = entry.kind;
  if (kind === undefined && defaults.kind !== undefined) kind = defaults.kind;
  if (!ALIGNMENT_DATA_KINDS.includes(kind as AlignmentDataKind)) {
    fail("kind", kind === undefined ? "is missing" : `must be one of ${ALIGNMENT_DATA_KINDS.join(", ")}`);
  }
  if (entry.source !== undefined && typeof entry.source !== "string") fail("source", "must be a string");
  return {
    query: entry.query as string,
    responses: responseList as string[],
    scores: scoreList as number[],
    models,
    kind: kind as AlignmentDataKind,
    ...(typeof entry.source === "string" ? { source: entry.source } : {}),
  };
}

/** Yields every example of `path` in order; throws InputError at the first bad one. */
export async function* readAlignmentExamples({
  path,
  defaults,
}: {
  path: string;
  defaults?: ExampleDefaults;
}): AsyncGenerator<LocatedExample> {
  for await (const { value, line } of readJsonValues({ path })) {
    yield { example: checkAlignmentExample(value, { file: path, line, defaults }), line };
  }
}

/** Index of the highest score, the first one on ties (SPEC 3). */
export function bestResponseIndex(scores: readonly number[]): number {
  let best = 0;
  for (let index = 1; index < scores.length; index += 1) {
    if ((scores[index] as number) > (scores[best] as number)) best = index;
  }
  return best;
}
