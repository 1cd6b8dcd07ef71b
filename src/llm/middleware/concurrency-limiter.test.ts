import { describe, expect, it } from "vitest";
import { CancelledError, ProviderError } from "../../spec/errors.js";
import { createConcurrencyLimiter } from "./concurrency-limiter.js";

/** A task that resolves (or rejects with `error`) when `finish` is called. */
function deferredTask(error?: unknown): { task: () => Promise<string>; finish: () => void; started: () => boolean } {
  let started = false;
  let finish = (): void => {};
  const task = (): Promise<string> => {
    started = true;
    return new Promise<string>((resolve, reject) => {
      finish = () => (error === undefined ? resolve("done") : reject(error));
    });
  };
  return { task, finish: () => finish(), started: () => started };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const rateLimited = (): ProviderError => new ProviderError("429", { retryable: true, status: 429 });

describe("createConcurrencyLimiter", () => {
  it("runs at most `limit` tasks and starts waiting ones in FIFO order", async () => {
    const limiter = createConcurrencyLimiter({ maxConcurrency: 2 });
    const tasks = [deferredTask(), deferredTask(), deferredTask(), deferredTask()];
    const order: number[] = [];
    const runs = tasks.map((entry, index) =>
      limiter.run(() => {
        order.push(index);
        return entry.task();
      }),
    );
    await tick();
    expect(order).toEqual([0, 1]);
    expect([limiter.inFlight(), limiter.queued()]).toEqual([2, 2]);
    tasks[1]?.finish();
    await tick();
    expect(order).toEqual([0, 1, 2]);
    tasks[0]?.finish();
    await tick();
    expect(order).toEqual([0, 1, 2, 3]);
    for (const entry of tasks) entry.finish();
    expect(await Promise.all(runs)).toEqual(["done", "done", "done", "done"]);
    expect([limiter.inFlight(), limiter.queued()]).toEqual([0, 0]);
  });

  it("halves the limit on a 429, once per burst, and never below 1", async () => {
    const changes: number[] = [];
    const limiter = createConcurrencyLimiter({ maxConcurrency: 8, onLimitChange: (limit) => changes.push(limit) });
    // Four calls started under limit 8 all get 429: one halving, not four.
    const burst = [1, 2, 3, 4].map(() => deferredTask(rateLimited()));
    const runs = burst.map((entry) => limiter.run(entry.task).catch(() => "failed"));
    await tick();
    for (const entry of burst) entry.finish();
    await Promise.all(runs);
    expect(limiter.limit()).toBe(4);
    for (const expected of [2, 1, 1]) {
      await limiter.run(() => Promise.reject(rateLimited())).catch(() => undefined);
      expect(limiter.limit()).toBe(expected);
    }
    expect(changes).toEqual([4, 2, 1]);
  });

  it("recovers additively after successes, up to maxConcurrency", async () => {
    const limiter = createConcurrencyLimiter({ maxConcurrency: 4 });
    await limiter.run(() => Promise.reject(rateLimited())).catch(() => undefined);
    expect(limiter.limit()).toBe(2);
    const seen: number[] = [];
    for (let index = 0; index < 12; index += 1) {
      await limiter.run(async () => "ok");
      seen.push(limiter.limit());
    }
    // +1 per `limit` successes: two successes at limit 2, three at 3, and no further than 4.
    expect(seen.slice(0, 6)).toEqual([2, 3, 3, 3, 4, 4]);
    expect(seen.at(-1)).toBe(4);
    expect(Math.max(...seen)).toBe(4);
  });

  it("other errors leave the limit alone", async () => {
    const limiter = createConcurrencyLimiter({ maxConcurrency: 4 });
    await limiter
      .run(() => Promise.reject(new ProviderError("500", { retryable: true, status: 500 })))
      .catch(() => undefined);
    expect(limiter.limit()).toBe(4);
  });

  it("a waiting caller whose signal aborts leaves the queue with CancelledError", async () => {
    const limiter = createConcurrencyLimiter({ maxConcurrency: 1 });
    const running = deferredTask();
    const first = limiter.run(running.task);
    const controller = new AbortController();
    const waiting = deferredTask();
    const cancelled = limiter.run(waiting.task, controller.signal);
    const after = deferredTask();
    const third = limiter.run(after.task);
    await tick();
    controller.abort();
    await expect(cancelled).rejects.toBeInstanceOf(CancelledError);
    expect(limiter.queued()).toBe(1);
    running.finish();
    await tick();
    expect(waiting.started()).toBe(false);
    expect(after.started()).toBe(true);
    after.finish();
    await Promise.all([first, third]);
  });

  it("rejects a limit that is not a whole number >= 1", () => {
    expect(() => createConcurrencyLimiter({ maxConcurrency: 0 })).toThrow(RangeError);
  });
});
