/**
 * When each interaction of a run starts. Round r's barrier (`finish(r)`: its records and summary) runs
 * once all of its interactions are complete and round r-1's barrier has run. With `lookahead`, an
 * interaction of round r+1 starts as soon as the round-r interactions it reads are complete (its own
 * agent's and its feedback givers': the memories its retrievals see), instead of at round r's
 * barrier, so a round's last stragglers do not leave the endpoints idle. It reads exactly what it
 * would read after the barrier: an agent's memory only grows by its own interactions, and snapshots
 * filter by round. At most two rounds are in progress, and at most `limit` interactions are in flight
 * (the older round's first), each started in its own event-loop turn: Node writes an HTTP request
 * only once the synchronous work around it has finished, so starting many at once would hold every
 * first request back until the last was set up.
 */
import { setImmediate as nextTurn } from "node:timers/promises";
import { BudgetExceededError, CancelledError } from "../spec/errors.js";

/** What {@link RoundSchedulerOptions.prepare} tells about a round. */
export interface RoundPlan {
  /** Whether an agent's interaction of this round was complete before this run started (a resume). */
  complete(agentId: number): boolean;
  /** The agents of the previous round whose interactions this agent's interaction reads (itself and its feedback givers). */
  reads(agentId: number): readonly number[];
}

/** Options of {@link runRounds}. */
export interface RoundSchedulerOptions {
  /** The first round to run; the rounds before it are finished. */
  firstRound: number;
  /** Rounds in all (the last is `rounds - 1`). */
  rounds: number;
  agentCount: number;
  /** Interactions in flight at most. */
  limit: number;
  /**
   * Start a round's interactions before the previous round's barrier (see the module comment). Either
   * way the next round is prepared while the oldest runs.
   */
  lookahead: boolean;
  /** Loads a round (its questions, embeddings, stored interactions); called once per round, before any of its interactions start. */
  prepare(round: number): Promise<RoundPlan>;
  /** Called when `round` becomes the oldest round in progress (the first round, then after each barrier). */
  open(round: number): void;
  /** Runs one interaction. */
  run(round: number, agentId: number): Promise<void>;
  /** The barrier of `round`; false stops the run after it (a plateau). */
  finish(round: number): boolean;
}

interface RoundState {
  plan: RoundPlan | undefined;
  /** Settles once `plan` is set (or its preparation failed). */
  prepared: Promise<void>;
  done: Uint8Array;
  remaining: number;
  /** Per agent: the previous round's interactions it reads that are not complete yet. */
  waiting: Int32Array;
  /** Per agent of the previous round: this round's agents that read its interaction. */
  readers: number[][] | undefined;
  ready: number[];
  readyHead: number;
}

/**
 * Runs rounds `firstRound..rounds-1` (see the module comment) and returns the first round not
 * finished (`rounds`, or the round after the one whose `finish` said stop). Waits for every started
 * interaction, then throws the first failure (a budget stop or cancellation before the rest).
 */
export async function runRounds(options: RoundSchedulerOptions): Promise<number> {
  const { agentCount, limit, lookahead, rounds } = options;
  const states = new Map<number, RoundState>();
  const failures: unknown[] = [];
  let oldest = options.firstRound;
  let inFlight = 0;
  let preparing = 0;
  let stopped = oldest >= rounds;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const resume = wake;
    wake = undefined;
    resume?.();
  };

  const prepare = (round: number, { later }: { later: boolean }): void => {
    if (states.has(round) || round >= rounds) return;
    const state: RoundState = {
      plan: undefined,
      prepared: Promise.resolve(),
      done: new Uint8Array(agentCount),
      remaining: agentCount,
      waiting: new Int32Array(agentCount),
      readers: undefined,
      ready: [],
      readyHead: 0,
    };
    states.set(round, state);
    preparing += 1;
    // A later round is prepared in the next turn, after the requests just started have gone out, and
    // after the round before it, whose plan (its interactions already complete) it reads.
    const previousPrepared = states.get(round - 1)?.prepared ?? Promise.resolve();
    state.prepared = (
      later ? previousPrepared.then(() => nextTurn()).then(() => options.prepare(round)) : options.prepare(round)
    )
      .then((plan) => {
        state.plan = plan;
        const previous = states.get(round - 1);
        if (previous !== undefined) state.readers = Array.from({ length: agentCount }, () => []);
        for (let agentId = 0; agentId < agentCount; agentId += 1) {
          if (plan.complete(agentId)) {
            state.done[agentId] = 1;
            state.remaining -= 1;
            continue;
          }
          let unmet = 0;
          if (previous !== undefined) {
            for (const read of new Set(plan.reads(agentId))) {
              if (previous.done[read] === 1) continue;
              unmet += 1;
              state.readers?.[read]?.push(agentId);
            }
          }
          state.waiting[agentId] = unmet;
          if (unmet === 0) state.ready.push(agentId);
        }
      })
      .catch((error: unknown) => {
        failures.push(error);
      })
      .finally(() => {
        preparing -= 1;
        notify();
      });
  };

  const complete = (round: number, agentId: number): void => {
    const state = states.get(round) as RoundState;
    state.done[agentId] = 1;
    state.remaining -= 1;
    const next = states.get(round + 1);
    for (const reader of next?.readers?.[agentId] ?? []) {
      const waiting = (next as RoundState).waiting;
      waiting[reader] = (waiting[reader] as number) - 1;
      if (waiting[reader] === 0) next?.ready.push(reader);
    }
  };

  const launch = (round: number, agentId: number): void => {
    inFlight += 1;
    void (async () => {
      try {
        await nextTurn();
        await options.run(round, agentId);
        complete(round, agentId);
      } catch (error) {
        failures.push(error);
      } finally {
        inFlight -= 1;
        notify();
      }
    })();
  };

  if (!stopped) {
    prepare(oldest, { later: false });
  }
  let opened = -1;
  for (;;) {
    let progressed = false;
    const current = states.get(oldest);
    if (!stopped && failures.length === 0 && current?.plan !== undefined) {
      if (opened < oldest) {
        opened = oldest;
        runHook(failures, () => options.open(oldest));
      }
      if (current.remaining === 0 && failures.length === 0) {
        // The barrier: every interaction of the oldest round is complete (and written by `finish`).
        const proceed = runHook(failures, () => options.finish(oldest));
        states.delete(oldest);
        oldest += 1;
        progressed = true;
        if (proceed !== true || oldest >= rounds) {
          stopped = true;
        } else {
          prepare(oldest, { later: false });
        }
      }
    }
    if (!stopped && failures.length === 0) {
      for (const round of lookahead ? [oldest, oldest + 1] : [oldest]) {
        const state = states.get(round);
        while (state !== undefined && inFlight < limit && state.readyHead < state.ready.length) {
          launch(round, state.ready[state.readyHead] as number);
          state.readyHead += 1;
          progressed = true;
        }
      }
      // The next round is loaded (its questions embedded) once the oldest one's first interactions are
      // on their way (its preparation waits a turn, behind theirs), so no barrier waits for it.
      if (states.get(oldest)?.plan !== undefined && !states.has(oldest + 1)) {
        prepare(oldest + 1, { later: true });
        progressed = progressed || oldest + 1 < rounds;
      }
    }
    const idle = inFlight === 0 && preparing === 0;
    if ((stopped || failures.length > 0) && idle) break;
    if (progressed) continue;
    if (idle) {
      // Nothing runs, nothing can start and the round is not complete: a bug, never a hang.
      throw new Error(`round scheduler stalled in round ${oldest} with ${current?.remaining} interactions left`);
    }
    await new Promise<void>((resolve) => {
      wake = resolve;
    });
  }
  if (failures.length > 0) {
    // A budget stop or cancellation explains the other failures; report it rather than a side effect.
    throw (
      failures.find((error) => error instanceof BudgetExceededError || error instanceof CancelledError) ?? failures[0]
    );
  }
  return oldest;
}

function runHook<T>(failures: unknown[], hook: () => T): T | undefined {
  try {
    return hook();
  } catch (error) {
    failures.push(error);
    return undefined;
  }
}
