import { describe, expect, it } from "vitest";
import { CancelledError } from "../spec/errors.js";
import { SequencePool } from "./sequence-pool.js";

describe("SequencePool", () => {
  it("hands out each item to one caller at a time and queues the rest first come first served", async () => {
    const pool = new SequencePool(["one", "two"]);
    const first = await pool.acquire();
    const second = await pool.acquire();
    expect(new Set([first, second])).toEqual(new Set(["one", "two"]));
    const order: string[] = [];
    const third = pool.acquire().then((item) => order.push(`third:${item}`));
    const fourth = pool.acquire().then((item) => order.push(`fourth:${item}`));
    expect(pool.waitingCount).toBe(2);
    pool.release(first);
    await third;
    expect(order).toEqual([`third:${first}`]);
    pool.release(second);
    await fourth;
    expect(order).toEqual([`third:${first}`, `fourth:${second}`]);
    expect(pool.idleCount).toBe(0);
  });

  it("removes an aborted waiter from the queue with CancelledError", async () => {
    const pool = new SequencePool([1]);
    const held = await pool.acquire();
    const controller = new AbortController();
    const waiting = pool.acquire(controller.signal);
    controller.abort();
    await expect(waiting).rejects.toBeInstanceOf(CancelledError);
    expect(pool.waitingCount).toBe(0);
    pool.release(held);
    expect(pool.idleCount).toBe(1);
    await expect(pool.acquire(AbortSignal.abort())).rejects.toBeInstanceOf(CancelledError);
  });

  it("rejects waiters and later callers once closed", async () => {
    const pool = new SequencePool(["only"]);
    await pool.acquire();
    const waiting = pool.acquire();
    pool.close(() => new Error("closed"));
    await expect(waiting).rejects.toThrow("closed");
    await expect(pool.acquire()).rejects.toThrow("closed");
  });
});
