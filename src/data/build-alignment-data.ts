/**
 * `data build`: interaction records of one or more runs -> grouped, mixed alignment examples in the
 * reference training format (a JSON array of AlignmentExample). Records stream through the SPEC 2
 * rules into the spilling grouper, the mix samples from the grouped index, and the chosen examples
 * are copied to a temporary file that replaces `out` only when everything succeeded.
 */
import { statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { createRandom, sampleWithoutReplacement } from "../engine/random.js";
import { writeAtomically } from "../model/atomic-writer.js";
import type { AlignmentDataKind } from "../spec/alignment-data.js";
import { ConfigError } from "../spec/errors.js";
import { type DataMix, formatDataMix, mixQuotas, mixStreamSeed, REFERENCE_MIX } from "./data-mix.js";
import { type DataTemplates, loadDataTemplates } from "./data-templates.js";
import { createExampleGrouper } from "./example-grouper.js";
import { readInteractionRecords, resolveRecordsFiles } from "./interaction-record-reader.js";
import { isGzipFile } from "./line-reader.js";
import { ALIGNMENT_DATA_KINDS, createDropCounts, type DropReason, rowsFromRecord } from "./record-rows.js";

/** Options of buildAlignmentData. */
export interface BuildAlignmentDataOptions {
  /**
   * Run folders (holding records.jsonl, run.sqlite or the reference's external_memory/agent_*.jsonl)
   * or records files, read in this order.
   */
  runs: readonly string[];
  /** Output file: a JSON array of AlignmentExample (gzip when it ends in .gz). */
  out: string;
  /** Mix of the kinds; default 5:1:1 (REFERENCE_MIX). */
  mix?: DataMix;
  /** Seed of the mix sampling; default 0. */
  seed?: number;
  /** Kinds to build; default all three. */
  kinds?: readonly AlignmentDataKind[];
  /** Prompt templates; default the built-in v1 set. */
  templates?: DataTemplates;
  /** Where the grouping spill goes; default the output's folder (same disk, no tmpfs surprises). */
  temporaryParent?: string;
  /** Called every 10,000 records and at the end with the records read so far. */
  onProgress?: (records: number) => void;
}

/** What happened to one kind's candidate responses. */
export interface KindBuildReport {
  /** Candidate responses the records offered (kept plus dropped). */
  candidates: number;
  /** Dropped candidates per reason. */
  dropped: Record<DropReason, number>;
  /** Responses kept after dropping (and after duplicates within a prompt). */
  responses: number;
  /** Grouped examples (distinct prompts) built. */
  examples: number;
  /** Examples the mix kept and wrote. */
  writtenExamples: number;
  /** Responses in the written examples. */
  writtenResponses: number;
}

/** The outcome of a build, for the command's report. */
export interface BuildReport {
  out: string;
  files: string[];
  records: number;
  mix: string;
  seed: number;
  templateVersion: string;
  kinds: Record<AlignmentDataKind, KindBuildReport>;
  writtenExamples: number;
  writtenResponses: number;
}

/** Builds alignment data from records; see BuildAlignmentDataOptions. Throws InputError/ConfigError. */
export async function buildAlignmentData({
  runs,
  out,
  mix = REFERENCE_MIX,
  seed = 0,
  kinds = ALIGNMENT_DATA_KINDS,
  templates = loadDataTemplates(),
  temporaryParent = dirname(resolve(out)),
  onProgress,
}: BuildAlignmentDataOptions): Promise<BuildReport> {
  if (runs.length === 0) throw new ConfigError("give at least one --run", { field: "run" });
  if (kinds.length === 0) throw new ConfigError("--kinds names no kind", { field: "kinds" });
  if (mix.mode === "ratio" && !kinds.includes("imitation")) {
    throw new ConfigError(
      `--mix ${formatDataMix(mix)} counts against Imitation examples; add imitation to --kinds or use --mix all`,
      {
        field: "mix",
      },
    );
  }
  const files = runs.flatMap(resolveRecordsFiles);
  // The spill is about 2-3 times the records' text; gzip input expands about 5 times.
  const estimatedBytes = files.reduce((sum, file) => sum + statSync(file).size * (isGzipFile(file) ? 5 : 1), 0) * 2.5;
  const maxBucketBytes = 24 << 20;
  const grouper = createExampleGrouper({
    temporaryParent,
    bucketCount: Math.max(8, Math.ceil(estimatedBytes / (maxBucketBytes / 2))),
    maxBucketBytes,
  });
  const drops = createDropCounts();
  const produced: Record<AlignmentDataKind, number> = { imitation: 0, "self-critic": 0, realignment: 0 };
  let records = 0;
  let grouped: Awaited<ReturnType<typeof grouper.finish>>;
  try {
    for (const file of files) {
      for await (const { record } of readInteractionRecords({ file })) {
        for (const row of rowsFromRecord(record, { templates, kinds, drops })) {
          grouper.add(row.kind, row.query, row.responses, row.source);
          produced[row.kind] += row.responses.length;
        }
        records += 1;
        if (onProgress !== undefined && records % 10_000 === 0) onProgress(records);
      }
    }
    onProgress?.(records);
    grouped = await grouper.finish();
  } catch (error) {
    grouper.dispose();
    throw error;
  }

  try {
    const available = Object.fromEntries(
      ALIGNMENT_DATA_KINDS.map((kind) => [kind, grouped.idsOfKind(kind).length]),
    ) as Record<AlignmentDataKind, number>;
    const quotas = mixQuotas({ mix, available });
    const kindReports = {} as Record<AlignmentDataKind, KindBuildReport>;
    const selected: Uint32Array[] = [];
    for (const kind of ALIGNMENT_DATA_KINDS) {
      const ids = grouped.idsOfKind(kind);
      const chosen =
        quotas[kind] >= ids.length
          ? ids
          : // Positions, ascending, so the kept examples stay in their original order.
            Uint32Array.from(
              sampleWithoutReplacement({
                items: Array.from({ length: ids.length }, (_, position) => position),
                count: quotas[kind],
                random: createRandom({ seed: mixStreamSeed({ seed, stream: kind }), algorithm: "mulberry32" }),
              }),
            )
              .sort()
              .map((position) => ids[position] as number);
      selected.push(chosen);
      const dropped = { ...drops[kind], duplicate: grouped.duplicates[kind] };
      const droppedTotal = Object.values(dropped).reduce((sum, count) => sum + count, 0);
      let writtenResponses = 0;
      for (const id of chosen) writtenResponses += grouped.responseCount(id);
      let responses = 0;
      for (const id of ids) responses += grouped.responseCount(id);
      kindReports[kind] = {
        candidates: produced[kind] + droppedTotal - grouped.duplicates[kind],
        dropped,
        responses,
        examples: ids.length,
        writtenExamples: chosen.length,
        writtenResponses,
      };
    }
    await writeAtomically({ path: out }, async (writer) => {
      let first = true;
      await writer.write("[");
      for (const ids of selected) {
        for (const id of ids) {
          await writer.write(first ? "\n" : ",\n");
          await writer.write(grouped.readExampleJson(id));
          first = false;
        }
      }
      await writer.write(first ? "]\n" : "\n]\n");
    });
    return {
      out,
      files,
      records,
      mix: formatDataMix(mix),
      seed,
      templateVersion: templates.version,
      kinds: kindReports,
      writtenExamples: selected.reduce((sum, ids) => sum + ids.length, 0),
      writtenResponses: ALIGNMENT_DATA_KINDS.reduce((sum, kind) => sum + kindReports[kind].writtenResponses, 0),
    };
  } finally {
    grouped.dispose();
  }
}
