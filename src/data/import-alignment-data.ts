/**
 * `data import`: other people's preference data -> our alignment data format, so it can be mixed
 * with simulated data, trained on, exported again or compared against. `sandbox-records` reads
 * SANDBOX interaction records (ours, or the reference implementation's per-agent files) through the
 * same SPEC 2 rules as `data build --mix all`.
 */
import { dirname, resolve } from "node:path";
import { writeAtomically } from "../model/atomic-writer.js";
import type { AlignmentDataKind, AlignmentExample } from "../spec/alignment-data.js";
import { ConfigError, InputError } from "../spec/errors.js";
import { readAlignmentExamples } from "./alignment-example-reader.js";
import { buildAlignmentData } from "./build-alignment-data.js";
import { type DataTemplates, loadDataTemplates } from "./data-templates.js";
import { createExampleGrouper } from "./example-grouper.js";
import { hhPairToExample } from "./hh-rlhf.js";
import { readJsonValues } from "./json-values-reader.js";
import { ALIGNMENT_DATA_KINDS } from "./record-rows.js";

/**
 * The import formats: Anthropic HH-RLHF pairs, our own format, any JSON Lines mapped by field names,
 * or SANDBOX interaction records (a run folder, the reference's layout included, or a records file).
 */
export const IMPORT_FORMATS = ["hh-rlhf", "sa", "jsonl", "sandbox-records"] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/**
 * Field names of a generic JSON Lines file (dotted paths reach into objects, e.g. `meta.model`).
 * With `chosen` set, each line is a pair (`chosen`/`rejected` strings scored like HH-RLHF); otherwise
 * `response` holds a string or a list and `score` a number or a list of the same length.
 */
export interface JsonlFieldMapping {
  /** Default "prompt". */
  prompt?: string;
  /** Default "response". */
  response?: string;
  /** Default "score". */
  score?: string;
  /** Optional; the `model` option is used when absent. */
  model?: string;
  /** Optional; the `kind` option is used when absent. */
  kind?: string;
  chosen?: string;
  /** Default "rejected" when `chosen` is set. */
  rejected?: string;
}

/** Options of importAlignmentData. */
export interface ImportAlignmentDataOptions {
  input: string;
  format: ImportFormat;
  /** Output: a JSON array of AlignmentExample, written atomically. */
  out: string;
  /** Score of a chosen response (hh-rlhf, jsonl pairs); default 7. */
  chosenScore?: number;
  /** Score of a rejected response; default 1. */
  rejectedScore?: number;
  /** hh-rlhf prompts: the raw transcript (default) or the last human turn in the Alpaca template. */
  template?: "raw" | "alpaca";
  /** Templates for `template: "alpaca"` and for sandbox-records; default the built-in set. */
  templates?: DataTemplates;
  /** Model label for responses whose source names none; default "hh-rlhf" for hh-rlhf, else "unknown". */
  model?: string;
  /** Kind for examples whose source names none; default "imitation". */
  kind?: AlignmentDataKind;
  fields?: JsonlFieldMapping;
  /**
   * Merge examples with the same prompt (dropping duplicate responses); default false: one example
   * per input. sandbox-records are always grouped (SPEC 2).
   */
  group?: boolean;
  /** Where a grouping spill goes; default the output's folder. */
  temporaryParent?: string;
}

/** What an import read and wrote. */
export interface ImportReport {
  out: string;
  format: ImportFormat;
  /** Values (lines or array elements) read; records for sandbox-records. */
  read: number;
  examples: number;
  responses: number;
  /**
   * Inputs that gave no example, per reason (hh-rlhf quirks); duplicates dropped by grouping under
   * "duplicate"; for sandbox-records, dropped responses as "<kind> <reason>" (record-rows.ts).
   */
  skipped: Record<string, number>;
}

function pathValue(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split(".")) {
    if (typeof current !== "object" || current === null) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** Reads `input` in `format` and writes our format to `out`. Throws InputError naming file, line and field. */
export async function importAlignmentData({
  input,
  format,
  out,
  chosenScore = 7,
  rejectedScore = 1,
  template = "raw",
  templates,
  model,
  kind = "imitation",
  fields = {},
  group = false,
  temporaryParent = dirname(resolve(out)),
}: ImportAlignmentDataOptions): Promise<ImportReport> {
  if (!ALIGNMENT_DATA_KINDS.includes(kind)) throw new ConfigError(`unknown kind "${kind}"`, { field: "kind" });
  if (format === "sandbox-records") {
    return importSandboxRecords({ input, out, templates: templates ?? loadDataTemplates(), temporaryParent });
  }
  const skipped: Record<string, number> = {};
  const skip = (reason: string): void => {
    skipped[reason] = (skipped[reason] ?? 0) + 1;
  };
  let read = 0;
  const alpaca = template === "alpaca" ? (templates ?? loadDataTemplates()) : undefined;

  async function* examples(): AsyncGenerator<AlignmentExample> {
    if (format === "sa") {
      for await (const { example } of readAlignmentExamples({
        path: input,
        defaults: { model: model ?? "unknown", kind },
      })) {
        read += 1;
        yield example;
      }
      return;
    }
    for await (const { value, line } of readJsonValues({ path: input })) {
      read += 1;
      const fail = (field: string, problem: string): never => {
        throw new InputError(`field "${field}" ${problem}`, { file: input, line });
      };
      const text = (field: string): string => {
        const found = pathValue(value, field);
        if (typeof found !== "string") fail(field, found === undefined ? "is missing" : "must be a string");
        return found as string;
      };
      if (format === "hh-rlhf") {
        const result = hhPairToExample(
          { chosen: text("chosen"), rejected: text("rejected") },
          {
            chosenScore,
            rejectedScore,
            model: model ?? "hh-rlhf",
            kind,
            renderPrompt: alpaca === undefined ? undefined : (human) => alpaca.renderImitationPrompt(human),
          },
        );
        if ("skip" in result) skip(result.skip);
        else yield result.example;
        continue;
      }
      const query = text(fields.prompt ?? "prompt");
      let exampleKind = kind;
      if (fields.kind !== undefined) {
        const found = pathValue(value, fields.kind);
        if (found !== undefined) {
          if (!ALIGNMENT_DATA_KINDS.includes(found as AlignmentDataKind)) {
            fail(fields.kind, `must be one of ${ALIGNMENT_DATA_KINDS.join(", ")}`);
          }
          exampleKind = found as AlignmentDataKind;
        }
      }
      let responses: string[];
      let scores: number[];
      if (fields.chosen !== undefined) {
        responses = [text(fields.chosen), text(fields.rejected ?? "rejected")];
        scores = [chosenScore, rejectedScore];
      } else {
        const responseField = fields.response ?? "response";
        const scoreField = fields.score ?? "score";
        const foundResponses = pathValue(value, responseField);
        const foundScores = pathValue(value, scoreField);
        responses = Array.isArray(foundResponses) ? foundResponses : [foundResponses];
        scores = Array.isArray(foundScores) ? foundScores : [foundScores];
        if (foundResponses === undefined || responses.length === 0) fail(responseField, "is missing or empty");
        if (responses.some((entry) => typeof entry !== "string"))
          fail(responseField, "must be a string or a list of strings");
        if (foundScores === undefined) fail(scoreField, "is missing");
        if (scores.length !== responses.length)
          fail(scoreField, `must have one score per response (${responses.length})`);
        if (scores.some((entry) => typeof entry !== "number" || !Number.isFinite(entry)))
          fail(scoreField, "must be numbers");
      }
      let models = responses.map(() => model ?? "unknown");
      if (fields.model !== undefined) {
        const found = pathValue(value, fields.model);
        if (typeof found === "string") models = responses.map(() => found);
        else if (
          Array.isArray(found) &&
          found.length === responses.length &&
          found.every((entry) => typeof entry === "string")
        ) {
          models = found as string[];
        } else if (found !== undefined) fail(fields.model, "must be a string or one string per response");
      }
      yield { query, responses, scores, models, kind: exampleKind };
    }
  }

  let written = 0;
  let responses = 0;
  if (!group) {
    await writeAtomically({ path: out }, async (writer) => {
      await writer.write("[");
      for await (const example of examples()) {
        await writer.write(`${written === 0 ? "\n" : ",\n"}${JSON.stringify(example)}`);
        written += 1;
        responses += example.responses.length;
      }
      await writer.write(written === 0 ? "]\n" : "\n]\n");
    });
    return { out, format, read, examples: written, responses, skipped };
  }

  const grouper = createExampleGrouper({ temporaryParent });
  let grouped: Awaited<ReturnType<typeof grouper.finish>>;
  try {
    for await (const example of examples()) {
      grouper.add(
        example.kind,
        example.query,
        example.responses.map((response, index) => ({
          response,
          score: example.scores[index] as number,
          model: example.models[index] as string,
        })),
        example.source,
      );
    }
    grouped = await grouper.finish();
  } catch (error) {
    grouper.dispose();
    throw error;
  }
  try {
    const duplicates = ALIGNMENT_DATA_KINDS.reduce((sum, entry) => sum + grouped.duplicates[entry], 0);
    if (duplicates > 0) skipped.duplicate = duplicates;
    await writeAtomically({ path: out }, async (writer) => {
      await writer.write("[");
      for (const id of grouped.idsInOrder()) {
        await writer.write(written === 0 ? "\n" : ",\n");
        await writer.write(grouped.readExampleJson(id));
        written += 1;
        responses += grouped.responseCount(id);
      }
      await writer.write(written === 0 ? "]\n" : "\n]\n");
    });
  } finally {
    grouped.dispose();
  }
  return { out, format, read, examples: written, responses, skipped };
}

/** SANDBOX records -> every SPEC 2 row, grouped by prompt: `data build --mix all` with an import report. */
async function importSandboxRecords({
  input,
  out,
  templates,
  temporaryParent,
}: {
  input: string;
  out: string;
  templates: DataTemplates;
  temporaryParent: string;
}): Promise<ImportReport> {
  const report = await buildAlignmentData({ runs: [input], out, mix: { mode: "all" }, templates, temporaryParent });
  const skipped: Record<string, number> = {};
  for (const kind of ALIGNMENT_DATA_KINDS) {
    for (const [reason, count] of Object.entries(report.kinds[kind].dropped)) {
      if (count > 0) skipped[`${kind} ${reason}`] = count;
    }
  }
  return {
    out,
    format: "sandbox-records",
    read: report.records,
    examples: report.writtenExamples,
    responses: report.writtenResponses,
    skipped,
  };
}
