/**
 * The simulation's writes, batched per turn of the event loop: an interaction's start, each completed
 * step and each completed interaction are queued in order and committed together, one SQLite
 * transaction for everything that completed in a turn instead of one (or three) per LM call. A write
 * is on disk before the next turn starts (and an LM answer is in the response cache as soon as it
 * arrives), so a killed run loses at most one turn, and resuming redoes at most that turn's steps.
 */
import type { SimulationRepository, StepInput } from "../store/simulation-repository.js";

/** An interaction's start, as `SimulationRepository.beginInteraction` takes it. */
export type BeginInput = Parameters<SimulationRepository["beginInteraction"]>[0];

/** A completed interaction, as `SimulationRepository.completeInteraction` takes it. */
export type CompleteInput = Parameters<SimulationRepository["completeInteraction"]>[0];

/** Queues writes and commits them once per turn. */
export interface TurnWriter {
  beginInteraction(input: BeginInput): void;
  saveStep(input: StepInput): void;
  completeInteraction(input: CompleteInput): void;
  /** Commits everything queued now, in one transaction (the round barrier and the error path call it). */
  flush(): void;
}

type Write =
  | { kind: "begin"; input: BeginInput }
  | { kind: "step"; input: StepInput }
  | { kind: "complete"; input: CompleteInput };

/**
 * Creates a writer over `repository`; `defer` schedules the end-of-turn commit (default
 * `setImmediate`); `afterWrites` runs inside each commit's transaction after its writes (records.jsonl
 * appends, which must happen under the write lock).
 */
export function createTurnWriter({
  repository,
  defer = setImmediate,
  afterWrites,
}: {
  repository: SimulationRepository;
  defer?: (callback: () => void) => unknown;
  afterWrites?: () => void;
}): TurnWriter {
  let queued: Write[] = [];
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (queued.length === 0) return;
    const writes = queued;
    queued = [];
    repository.exclusive(() => {
      for (const write of writes) {
        if (write.kind === "begin") repository.beginInteraction(write.input);
        else if (write.kind === "step") repository.saveStep(write.input);
        else repository.completeInteraction(write.input);
      }
      afterWrites?.();
    });
  };
  const queue = (write: Write): void => {
    queued.push(write);
    if (!scheduled) {
      scheduled = true;
      defer(flush);
    }
  };
  return {
    beginInteraction: (input) => queue({ kind: "begin", input }),
    saveStep: (input) => queue({ kind: "step", input }),
    completeInteraction: (input) => queue({ kind: "complete", input }),
    flush,
  };
}
