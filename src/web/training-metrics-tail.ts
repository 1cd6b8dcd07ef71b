/**
 * Reads a training run's metrics.jsonl as it grows: each call reads only the bytes appended since the
 * last one (a file that shrank, as after a resume's truncation, is read again from the start), keeps
 * a torn last line for the next call, and skips lines that are not JSON objects.
 */
import { closeSync, openSync, readSync, statSync } from "node:fs";

/** One optimizer step's line. */
export interface TrainingStepLine {
  step: number;
  loss: number | null;
  terms: Record<string, number>;
  learningRate: number | null;
}

/** One held-out evaluation's line. */
export interface TrainingEvaluationLine {
  step: number;
  loss: number | null;
  preferenceAccuracy: number | null;
}

/** What the file held so far. */
export interface TrainingMetrics {
  steps: TrainingStepLine[];
  evaluations: TrainingEvaluationLine[];
  /** Bytes of the file consumed. */
  bytes: number;
}

/** A reader of one metrics file that remembers where it stopped. */
export interface TrainingMetricsTail {
  /** Reads what was appended and returns everything read so far. */
  read(): TrainingMetrics;
}

const finiteOrNull = (value: unknown): number | null =>
  typeof value === "number" && Number.isFinite(value) ? value : null;

/** Creates the tail of `path` (the file may not exist yet). */
export function createTrainingMetricsTail({ path }: { path: string }): TrainingMetricsTail {
  let state: TrainingMetrics = { steps: [], evaluations: [], bytes: 0 };
  let pending = "";
  return {
    read() {
      const size = statSync(path, { throwIfNoEntry: false })?.size ?? 0;
      if (size < state.bytes) {
        state = { steps: [], evaluations: [], bytes: 0 };
        pending = "";
      }
      if (size === state.bytes) return state;
      const buffer = Buffer.alloc(size - state.bytes);
      const descriptor = openSync(path, "r");
      let read = 0;
      try {
        read = readSync(descriptor, buffer, 0, buffer.length, state.bytes);
      } finally {
        closeSync(descriptor);
      }
      const text = pending + buffer.subarray(0, read).toString("utf8");
      const lines = text.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) addLine(state, line);
      state = { ...state, bytes: state.bytes + read };
      return state;
    },
  };
}

function addLine(state: TrainingMetrics, line: string): void {
  if (line.trim() === "") return;
  let value: Record<string, unknown>;
  try {
    const parsed = JSON.parse(line) as unknown;
    if (typeof parsed !== "object" || parsed === null) return;
    value = parsed as Record<string, unknown>;
  } catch {
    return;
  }
  const step = finiteOrNull(value.step);
  if (step === null) return;
  if (value.type === "step") {
    const terms: Record<string, number> = {};
    if (typeof value.terms === "object" && value.terms !== null) {
      for (const [name, term] of Object.entries(value.terms)) {
        if (typeof term === "number" && Number.isFinite(term)) terms[name] = term;
      }
    }
    state.steps.push({ step, loss: finiteOrNull(value.loss), terms, learningRate: finiteOrNull(value.learningRate) });
  } else if (value.type === "eval") {
    state.evaluations.push({
      step,
      loss: finiteOrNull(value.loss),
      preferenceAccuracy: finiteOrNull(value.preferenceAccuracy),
    });
  }
}
