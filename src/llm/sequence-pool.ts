/**
 * A fixed set of reusable resources (llama.cpp context sequences) handed out one caller at a time,
 * first come first served. Callers beyond the set wait; an aborted wait leaves the queue.
 */
import { CancelledError } from "../spec/errors.js";

interface Waiter<T> {
  resolve: (item: T) => void;
  reject: (error: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

export class SequencePool<T> {
  private readonly idle: T[];
  private readonly waiters: Waiter<T>[] = [];
  private closedError: (() => Error) | undefined;

  constructor(items: readonly T[]) {
    this.idle = [...items];
  }

  /** Items waiting for a caller. */
  get idleCount(): number {
    return this.idle.length;
  }

  /** Callers waiting for an item. */
  get waitingCount(): number {
    return this.waiters.length;
  }

  /** Resolves with a free item, waiting in line when all are busy; rejects with `CancelledError` on abort. */
  acquire(signal?: AbortSignal): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError());
    if (signal?.aborted) return Promise.reject(new CancelledError("cancelled while waiting for a free sequence"));
    const item = this.idle.pop();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter<T> = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          const index = this.waiters.indexOf(waiter);
          if (index >= 0) this.waiters.splice(index, 1);
          reject(new CancelledError("cancelled while waiting for a free sequence"));
        },
      };
      signal?.addEventListener("abort", waiter.onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Returns an item: the longest waiter gets it, else it becomes idle. */
  release(item: T): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter.signal?.removeEventListener("abort", waiter.onAbort);
      waiter.resolve(item);
      return;
    }
    this.idle.push(item);
  }

  /** Rejects every waiter and every later `acquire` with the error `makeError` builds. */
  close(makeError: () => Error): void {
    this.closedError = makeError;
    for (const waiter of this.waiters.splice(0)) {
      waiter.signal?.removeEventListener("abort", waiter.onAbort);
      waiter.reject(makeError());
    }
  }
}
