import { BudgetExceededError, CancelledError } from "../../spec/errors.js";

/** Where a budget stands, in US dollars. */
export interface BudgetState {
  /** The cap; Infinity when there is none. */
  budgetUsd: number;
  /** Spent so far: the starting `spentUsd` plus every settled call's cost. */
  spentUsd: number;
  /** Held by calls in flight: their most cost, released when they settle. */
  reservedUsd: number;
}

/** Options of {@link createBudgetGate}. */
export interface BudgetGateOptions {
  /** The cap in US dollars. Default: none (Infinity). */
  budgetUsd?: number;
  /** US dollars already spent toward the cap (a resumed run's ledger). Default 0. */
  spentUsd?: number;
}

/** Admits calls against a spending cap by reserving each call's most cost before it starts. */
export interface BudgetGate {
  /**
   * Holds `reservationUsd` for a call about to start. Returns undefined when held at once, or a
   * promise that resolves once held: while spent + reserved + this reservation would pass the cap,
   * the call waits (first come, first served) for calls in flight to settle. Throws, or rejects with,
   * BudgetExceededError once spent + this reservation alone would pass the cap; rejects with
   * CancelledError when `signal` aborts the wait.
   */
  reserve(reservationUsd: number, signal?: AbortSignal): Promise<void> | undefined;
  /** Ends a held call: releases its reservation and spends what it really cost (0 when it failed). */
  settle(reservationUsd: number, costUsd: number): void;
  state(): BudgetState;
  /** Resolves once no call is held or waiting (at once when none is). */
  idle(): Promise<void>;
}

interface Waiter {
  reservationUsd: number;
  resolve: () => void;
  reject: (error: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

/**
 * Creates a budget gate. Honest usage (real cost within the reservation) never passes the cap;
 * a call that could never fit is refused at once, so a stop is decided by spend, not by how many
 * calls happen to be in flight.
 */
export function createBudgetGate({
  budgetUsd = Number.POSITIVE_INFINITY,
  spentUsd = 0,
}: BudgetGateOptions = {}): BudgetGate {
  let spent = spentUsd;
  let reserved = 0;
  let held = 0;
  let waiting: Waiter[] = [];
  let idleWaiters: (() => void)[] = [];

  const neverFits = (reservationUsd: number): boolean => spent >= budgetUsd || spent + reservationUsd > budgetUsd;
  const fitsNow = (reservationUsd: number): boolean => spent + reserved + reservationUsd <= budgetUsd;
  const hold = (reservationUsd: number): void => {
    reserved += reservationUsd;
    held += 1;
  };

  function admitWaiting(): void {
    let admitted = 0;
    for (const waiter of waiting) {
      if (neverFits(waiter.reservationUsd)) {
        waiter.signal?.removeEventListener("abort", waiter.onAbort);
        waiter.reject(new BudgetExceededError(spent, budgetUsd));
      } else if (fitsNow(waiter.reservationUsd)) {
        waiter.signal?.removeEventListener("abort", waiter.onAbort);
        hold(waiter.reservationUsd);
        waiter.resolve();
      } else {
        break;
      }
      admitted += 1;
    }
    if (admitted > 0) waiting = waiting.slice(admitted);
  }

  function wakeIdle(): void {
    if (held > 0 || waiting.length > 0 || idleWaiters.length === 0) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const wake of waiters) wake();
  }

  return {
    reserve(reservationUsd, signal) {
      if (neverFits(reservationUsd)) throw new BudgetExceededError(spent, budgetUsd);
      if (waiting.length === 0 && fitsNow(reservationUsd)) {
        hold(reservationUsd);
        return undefined;
      }
      if (signal?.aborted) throw new CancelledError("cancelled while waiting for budget");
      return new Promise<void>((resolve, reject) => {
        const waiter: Waiter = {
          reservationUsd,
          resolve,
          reject,
          signal,
          onAbort: () => {
            waiting = waiting.filter((candidate) => candidate !== waiter);
            reject(new CancelledError("cancelled while waiting for budget"));
            admitWaiting();
            wakeIdle();
          },
        };
        signal?.addEventListener("abort", waiter.onAbort, { once: true });
        waiting.push(waiter);
      });
    },
    settle(reservationUsd, costUsd) {
      held -= 1;
      spent += costUsd;
      // Back to an exact 0 when nothing is held, so float residue never blocks a call.
      reserved = held === 0 ? 0 : reserved - reservationUsd;
      if (waiting.length > 0) admitWaiting();
      wakeIdle();
    },
    state() {
      return { budgetUsd, spentUsd: spent, reservedUsd: reserved };
    },
    idle() {
      if (held === 0 && waiting.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
  };
}
