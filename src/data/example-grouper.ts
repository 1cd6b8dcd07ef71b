/**
 * Groups rated responses by prompt with bounded memory. Grouping must see every record before a
 * prompt's example is complete, but the text of 200k records does not fit in a few hundred MB, so
 * the grouper spills: responses go to bucket files chosen by a hash of (kind, prompt), so that equal
 * prompts always share a bucket; each bucket is then grouped in memory on its own (exact string
 * comparison, no hash is trusted for equality), duplicates within a prompt are dropped, and the
 * finished examples are appended to one file. Only a compact index (kind, first appearance, offset,
 * length) stays in memory, which is what the mixing step samples from.
 */
import { closeSync, mkdirSync, openSync, readSync, rmSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { removeStaleTemporaries, temporarySiblingPath } from "../model/temporary-path.js";
import type { AlignmentDataKind } from "../spec/alignment-data.js";
import { readLines } from "./line-reader.js";
import { ALIGNMENT_DATA_KINDS, type RatedResponse } from "./record-rows.js";

/** Finished examples on disk with an in-memory index; ids are 0..count-1. */
export interface GroupedExamples {
  /** How many grouped examples (prompts) there are. */
  readonly count: number;
  /** Responses dropped because the same text already existed under the same prompt, per kind. */
  readonly duplicates: Readonly<Record<AlignmentDataKind, number>>;
  /** The ids of one kind's examples, in order of first appearance. */
  idsOfKind(kind: AlignmentDataKind): Uint32Array;
  /** Every id, in order of first appearance regardless of kind. */
  idsInOrder(): Uint32Array;
  /** How many responses example `id` has. */
  responseCount(id: number): number;
  /** The example's JSON text (an AlignmentExample), as UTF-8 bytes. */
  readExampleJson(id: number): Buffer;
  /** Removes the work folder. */
  dispose(): void;
}

/** Collects responses; `finish` groups them. */
export interface ExampleGrouper {
  /**
   * Adds responses to the prompt `query` of `kind`; calls are ordered (that order is "first appearance").
   * `source` (the question answered) is kept from the prompt's first call that gives one.
   */
  add(kind: AlignmentDataKind, query: string, responses: readonly RatedResponse[], source?: string): void;
  /** Groups everything added so far; the grouper cannot be used afterwards. */
  finish(): Promise<GroupedExamples>;
  /** Removes the work folder without grouping (after a failure). */
  dispose(): void;
}

const KIND_INDEX: Readonly<Record<AlignmentDataKind, number>> = { imitation: 0, "self-critic": 1, realignment: 2 };
const FLUSH_CHARACTERS = 1 << 16;
const MAXIMUM_SPLIT_DEPTH = 2;

/** 32-bit FNV-1a of the prompt and kind, salted so that re-splitting a bucket spreads it differently. */
function partitionHash(kindIndex: number, query: string, salt: number): number {
  let hash = (0x811c9dc5 ^ Math.imul(salt + 1, 0x9e3779b1) ^ kindIndex) >>> 0;
  for (let index = 0; index < query.length; index += 1) {
    hash = Math.imul(hash ^ query.charCodeAt(index), 0x01000193);
  }
  return hash >>> 0;
}

class Column<T extends Float64Array | Uint32Array | Uint8Array> {
  length = 0;
  constructor(
    private values: T,
    private readonly make: (size: number) => T,
  ) {}
  push(value: number): void {
    if (this.length === this.values.length) {
      const grown = this.make(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length] = value;
    this.length += 1;
  }
  get(index: number): number {
    return this.values[index] as number;
  }
}

interface Bucket {
  path: string;
  depth: number;
}

/**
 * Creates a grouper working in a new folder under `temporaryParent` (put it on the output's disk:
 * the spill is about as large as the output). `bucketCount` (default 64, at most 256) buckets are
 * filled; a bucket above `maxBucketBytes` (default 24 MiB) is split again before grouping, which
 * bounds memory to about a few times that, except for a single prompt larger than it.
 */
export function createExampleGrouper({
  temporaryParent,
  bucketCount = 64,
  maxBucketBytes = 24 << 20,
}: {
  temporaryParent: string;
  bucketCount?: number;
  maxBucketBytes?: number;
}): ExampleGrouper {
  const count = Math.max(1, Math.min(256, Math.floor(bucketCount)));
  mkdirSync(temporaryParent, { recursive: true });
  // Spill folders of runs killed before (their pid is dead) are removed; a live run's are kept.
  removeStaleTemporaries({ directory: temporaryParent });
  const workDirectory = temporarySiblingPath({
    path: join(temporaryParent, "stable-alignment-group"),
    suffix: "spill",
  });
  mkdirSync(workDirectory);
  let disposed = false;
  const dispose = (): void => {
    if (disposed) return;
    disposed = true;
    for (const descriptor of descriptors) if (descriptor >= 0) closeSync(descriptor);
    rmSync(workDirectory, { recursive: true, force: true });
  };
  const paths: string[] = [];
  const descriptors: number[] = [];
  const pending: string[][] = [];
  const pendingCharacters: number[] = [];
  try {
    for (let index = 0; index < count; index += 1) {
      const path = join(workDirectory, `bucket-${index}.jsonl`);
      paths.push(path);
      descriptors.push(openSync(path, "w"));
      pending.push([]);
      pendingCharacters.push(0);
    }
  } catch (error) {
    dispose();
    throw error;
  }
  const flushBucket = (index: number): void => {
    const lines = pending[index] as string[];
    if (lines.length === 0) return;
    writeSync(descriptors[index] as number, lines.join(""));
    pending[index] = [];
    pendingCharacters[index] = 0;
  };
  let sequence = 0;
  let finished = false;

  return {
    add(kind, query, responses, source) {
      if (finished) throw new Error("the grouper is finished");
      if (responses.length === 0) return;
      const kindIndex = KIND_INDEX[kind];
      const flat: (string | number)[] = [];
      for (const { response, score, model } of responses) flat.push(response, score, model);
      const line = `${JSON.stringify(source === undefined ? [kindIndex, sequence, query, flat] : [kindIndex, sequence, query, flat, source])}\n`;
      sequence += 1;
      const bucket = partitionHash(kindIndex, query, 0) % count;
      (pending[bucket] as string[]).push(line);
      pendingCharacters[bucket] = (pendingCharacters[bucket] as number) + line.length;
      if ((pendingCharacters[bucket] as number) >= FLUSH_CHARACTERS) flushBucket(bucket);
    },
    async finish() {
      if (finished) throw new Error("the grouper is finished");
      finished = true;
      try {
        for (let index = 0; index < count; index += 1) {
          flushBucket(index);
          closeSync(descriptors[index] as number);
          descriptors[index] = -1;
        }
        return await groupBuckets({
          buckets: paths.map((path) => ({ path, depth: 0 })),
          workDirectory,
          maxBucketBytes,
          dispose,
        });
      } catch (error) {
        dispose();
        throw error;
      }
    },
    dispose,
  };
}

async function splitBucket(bucket: Bucket, parts: number): Promise<Bucket[]> {
  const children: Bucket[] = [];
  const descriptors: number[] = [];
  const buffers: string[][] = [];
  try {
    for (let index = 0; index < parts; index += 1) {
      const path = `${bucket.path.slice(0, -".jsonl".length)}-${index}.jsonl`;
      children.push({ path, depth: bucket.depth + 1 });
      descriptors.push(openSync(path, "w"));
      buffers.push([]);
    }
    for await (const { text } of readLines({ path: bucket.path })) {
      if (text === "") continue;
      const [kindIndex, , query] = JSON.parse(text) as [number, number, string];
      const target = partitionHash(kindIndex, query, bucket.depth + 1) % parts;
      const lines = buffers[target] as string[];
      lines.push(`${text}\n`);
      if (lines.length >= 64) {
        writeSync(descriptors[target] as number, lines.join(""));
        buffers[target] = [];
      }
    }
    for (let index = 0; index < parts; index += 1) {
      const lines = buffers[index] as string[];
      if (lines.length > 0) writeSync(descriptors[index] as number, lines.join(""));
    }
  } finally {
    for (const descriptor of descriptors) closeSync(descriptor);
  }
  rmSync(bucket.path, { force: true });
  return children;
}

interface Group {
  firstSequence: number;
  query: string;
  responses: string[];
  scores: number[];
  models: string[];
  seen: Set<string> | undefined;
  /** The source id of the prompt's first row. */
  source: string | undefined;
}

async function groupBuckets({
  buckets,
  workDirectory,
  maxBucketBytes,
  dispose,
}: {
  buckets: Bucket[];
  workDirectory: string;
  maxBucketBytes: number;
  dispose: () => void;
}): Promise<GroupedExamples> {
  const kinds = new Column(new Uint8Array(1024), (size) => new Uint8Array(size));
  const firstSequences = new Column(new Float64Array(1024), (size) => new Float64Array(size));
  const offsets = new Column(new Float64Array(1024), (size) => new Float64Array(size));
  const lengths = new Column(new Uint32Array(1024), (size) => new Uint32Array(size));
  const responseCounts = new Column(new Uint32Array(1024), (size) => new Uint32Array(size));
  const duplicates: Record<AlignmentDataKind, number> = { imitation: 0, "self-critic": 0, realignment: 0 };
  const groupedPath = join(workDirectory, "grouped.jsonl");
  const output = openSync(groupedPath, "w");
  let offset = 0;
  let outputPieces: string[] = [];
  let outputCharacters = 0;
  const queue = [...buckets];
  try {
    while (queue.length > 0) {
      const bucket = queue.shift() as Bucket;
      const size = statSync(bucket.path).size;
      if (size > maxBucketBytes && bucket.depth < MAXIMUM_SPLIT_DEPTH) {
        queue.unshift(...(await splitBucket(bucket, Math.min(64, Math.ceil((2 * size) / maxBucketBytes)))));
        continue;
      }
      const groups: Map<string, Group>[] = [new Map(), new Map(), new Map()];
      for await (const { text } of readLines({ path: bucket.path })) {
        if (text === "") continue;
        const [kindIndex, sequence, query, flat, source] = JSON.parse(text) as [
          number,
          number,
          string,
          (string | number)[],
          string | undefined,
        ];
        const byQuery = groups[kindIndex] as Map<string, Group>;
        let group = byQuery.get(query);
        if (group === undefined) {
          group = { firstSequence: sequence, query, responses: [], scores: [], models: [], seen: undefined, source };
          byQuery.set(query, group);
        }
        group.source ??= source;
        for (let index = 0; index < flat.length; index += 3) {
          const response = flat[index] as string;
          // Small groups are searched directly; a Set pays off only once a prompt has many responses.
          const duplicate = group.seen !== undefined ? group.seen.has(response) : group.responses.includes(response);
          if (duplicate) {
            duplicates[ALIGNMENT_DATA_KINDS[kindIndex] as AlignmentDataKind] += 1;
            continue;
          }
          group.responses.push(response);
          group.scores.push(flat[index + 1] as number);
          group.models.push(flat[index + 2] as string);
          if (group.seen !== undefined) group.seen.add(response);
          else if (group.responses.length > 16) group.seen = new Set(group.responses);
        }
      }
      rmSync(bucket.path, { force: true });
      for (let kindIndex = 0; kindIndex < groups.length; kindIndex += 1) {
        const kind = ALIGNMENT_DATA_KINDS[kindIndex] as AlignmentDataKind;
        for (const group of (groups[kindIndex] as Map<string, Group>).values()) {
          const json = JSON.stringify({
            query: group.query,
            responses: group.responses,
            scores: group.scores,
            models: group.models,
            kind,
            ...(group.source === undefined ? {} : { source: group.source }),
          });
          const bytes = Buffer.byteLength(json);
          kinds.push(kindIndex);
          firstSequences.push(group.firstSequence);
          offsets.push(offset);
          lengths.push(bytes);
          responseCounts.push(group.responses.length);
          offset += bytes + 1;
          outputPieces.push(json, "\n");
          outputCharacters += json.length;
          if (outputCharacters >= 1 << 20) {
            writeSync(output, outputPieces.join(""));
            outputPieces = [];
            outputCharacters = 0;
          }
        }
      }
    }
    if (outputPieces.length > 0) writeSync(output, outputPieces.join(""));
  } finally {
    closeSync(output);
  }

  const total = kinds.length;
  const byFirstAppearance = (ids: number[]): Uint32Array =>
    Uint32Array.from(ids).sort((left, right) => firstSequences.get(left) - firstSequences.get(right));
  const perKind: number[][] = [[], [], []];
  for (let id = 0; id < total; id += 1) (perKind[kinds.get(id)] as number[]).push(id);
  const orderedPerKind = perKind.map(byFirstAppearance);
  const reader = openSync(groupedPath, "r");
  let closed = false;
  return {
    count: total,
    duplicates,
    idsOfKind: (kind) => orderedPerKind[KIND_INDEX[kind]] as Uint32Array,
    idsInOrder: () => byFirstAppearance(Array.from({ length: total }, (_, id) => id)),
    responseCount: (id) => responseCounts.get(id),
    readExampleJson(id) {
      const length = lengths.get(id);
      const buffer = Buffer.allocUnsafe(length);
      let read = 0;
      while (read < length) {
        const got = readSync(reader, buffer, read, length - read, offsets.get(id) + read);
        if (got === 0) throw new Error(`grouped example ${id} is truncated in ${groupedPath}`);
        read += got;
      }
      return buffer;
    },
    dispose() {
      if (!closed) {
        closed = true;
        closeSync(reader);
      }
      dispose();
    },
  };
}
