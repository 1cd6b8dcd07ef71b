/**
 * `data export`: alignment data -> the formats other trainers read. Everything streams: one example
 * in, its rows out.
 */

import { writeAtomically } from "../model/atomic-writer.js";
import type { AlignmentExample } from "../spec/alignment-data.js";
import { ConfigError } from "../spec/errors.js";
import { bestResponseIndex, readAlignmentExamples } from "./alignment-example-reader.js";
import { promptToMessages } from "./chat-messages.js";

/** The export formats. */
export const EXPORT_FORMATS = ["sa", "dpo", "kto", "sft", "openai-sft", "openai-dpo"] as const;
/**
 * `sa`: our format (JSON array). `dpo`: {prompt, chosen, rejected, score_chosen, score_rejected}, the
 * best response against each lower-rated one. `kto`: {prompt, completion, label}. `sft`: {prompt,
 * completion} with the best response. `openai-sft`: {messages}. `openai-dpo`: {input: {messages},
 * preferred_output, non_preferred_output}. All but `sa` are JSON Lines.
 */
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Thresholds of the `kto` export. */
export interface KtoThresholds {
  /** Scores at or above this are desirable; default 5. */
  desirable?: number;
  /** Scores at or below this are undesirable; default 3. Scores in between are left out. */
  undesirable?: number;
}

/** Parses a format name; throws ConfigError listing the known ones. */
export function parseExportFormat(text: string): ExportFormat {
  if ((EXPORT_FORMATS as readonly string[]).includes(text)) return text as ExportFormat;
  throw new ConfigError(`unknown export format "${text}" (known: ${EXPORT_FORMATS.join(", ")})`, { field: "format" });
}

/** Best-vs-lower pairs: the best response (first on ties) against every strictly lower-rated one. */
export function preferencePairs(example: AlignmentExample): { chosen: number; rejected: number }[] {
  const best = bestResponseIndex(example.scores);
  const bestScore = example.scores[best] as number;
  const pairs: { chosen: number; rejected: number }[] = [];
  example.scores.forEach((score, index) => {
    if (index !== best && score < bestScore) pairs.push({ chosen: best, rejected: index });
  });
  return pairs;
}

/** The rows one example becomes in `format` (an empty list when it gives none, e.g. no pair for dpo). */
export function exampleToExportRows(
  example: AlignmentExample,
  { format, kto = {} }: { format: ExportFormat; kto?: KtoThresholds },
): unknown[] {
  const { query, responses, scores } = example;
  const best = bestResponseIndex(scores);
  const assistant = (content: string) => ({ role: "assistant" as const, content });
  switch (format) {
    case "sa":
      return [
        {
          query,
          responses: example.responses,
          scores: example.scores,
          models: example.models,
          kind: example.kind,
          ...(example.source === undefined ? {} : { source: example.source }),
        },
      ];
    case "dpo":
      return preferencePairs(example).map(({ chosen, rejected }) => ({
        prompt: query,
        chosen: responses[chosen],
        rejected: responses[rejected],
        score_chosen: scores[chosen],
        score_rejected: scores[rejected],
      }));
    case "kto": {
      const { desirable = 5, undesirable = 3 } = kto;
      const rows: unknown[] = [];
      responses.forEach((completion, index) => {
        const score = scores[index] as number;
        if (score >= desirable) rows.push({ prompt: query, completion, label: true });
        else if (score <= undesirable) rows.push({ prompt: query, completion, label: false });
      });
      return rows;
    }
    case "sft":
      return [{ prompt: query, completion: responses[best] }];
    case "openai-sft":
      return [{ messages: [...promptToMessages(query), assistant(responses[best] as string)] }];
    case "openai-dpo":
      return preferencePairs(example).map(({ chosen, rejected }) => ({
        input: { messages: promptToMessages(query) },
        preferred_output: [assistant(responses[chosen] as string)],
        non_preferred_output: [assistant(responses[rejected] as string)],
      }));
  }
}

/** Options of exportAlignmentData. */
export interface ExportAlignmentDataOptions {
  /** Alignment data file (JSON array or JSON Lines of AlignmentExample; gzip allowed). */
  input: string;
  format: ExportFormat;
  /** Output file, written atomically (gzip when it ends in .gz). */
  out: string;
  kto?: KtoThresholds;
}

/** What an export read and wrote. */
export interface ExportReport {
  out: string;
  format: ExportFormat;
  examples: number;
  rows: number;
  /** Examples that gave no row (dpo and openai-dpo: no lower-rated response; kto: only middle scores). */
  examplesWithoutRows: number;
}

/** Streams `input` into `format` at `out`. Throws InputError for bad input, ConfigError for bad thresholds. */
export async function exportAlignmentData({
  input,
  format,
  out,
  kto = {},
}: ExportAlignmentDataOptions): Promise<ExportReport> {
  const { desirable = 5, undesirable = 3 } = kto;
  if (!(undesirable < desirable)) {
    throw new ConfigError(`kto thresholds: undesirable (${undesirable}) must be below desirable (${desirable})`, {
      field: "kto-undesirable",
    });
  }
  let examples = 0;
  let rows = 0;
  let examplesWithoutRows = 0;
  await writeAtomically({ path: out }, async (writer) => {
    const array = format === "sa";
    if (array) await writer.write("[");
    for await (const { example } of readAlignmentExamples({ path: input })) {
      examples += 1;
      const produced = exampleToExportRows(example, { format, kto: { desirable, undesirable } });
      if (produced.length === 0) examplesWithoutRows += 1;
      for (const row of produced) {
        await writer.write(array ? `${rows === 0 ? "\n" : ",\n"}${JSON.stringify(row)}` : `${JSON.stringify(row)}\n`);
        rows += 1;
      }
    }
    if (array) await writer.write(rows === 0 ? "]\n" : "\n]\n");
  });
  return { out, format, examples, rows, examplesWithoutRows };
}
