import { describe, expect, it } from "vitest";
import { BudgetExceededError, CancelledError } from "../../spec/errors.js";
import { createBudgetGate } from "./budget-gate.js";

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe("createBudgetGate", () => {
  it("holds calls that fit at once and refuses one that could never fit", () => {
    const gate = createBudgetGate({ budgetUsd: 10, spentUsd: 4 });
    expect(gate.reserve(3)).toBeUndefined();
    expect(gate.state()).toEqual({ budgetUsd: 10, spentUsd: 4, reservedUsd: 3 });
    // 4 spent + 7 alone passes 10, whatever settles: refused at once.
    expect(() => gate.reserve(7)).toThrow(BudgetExceededError);
    gate.settle(3, 1);
    expect(gate.state()).toEqual({ budgetUsd: 10, spentUsd: 5, reservedUsd: 0 });
  });

  it("lets a call wait for room first come, first served, then admits or refuses it by spend", async () => {
    const gate = createBudgetGate({ budgetUsd: 10 });
    expect(gate.reserve(6)).toBeUndefined();
    const order: string[] = [];
    const second = gate.reserve(5)?.then(() => order.push("second"));
    // Fits beside the first, but waits behind the second: no overtaking.
    const third = gate.reserve(1)?.then(() => order.push("third"));
    expect(second).toBeDefined();
    expect(third).toBeDefined();
    await flush();
    expect(order).toEqual([]);
    gate.settle(6, 2);
    await Promise.all([second, third]);
    expect(order).toEqual(["second", "third"]);
    expect(gate.state()).toEqual({ budgetUsd: 10, spentUsd: 2, reservedUsd: 6 });

    const fourth = gate.reserve(4);
    // The two in flight spend 7 in all: 9 spent + 4 can never fit, so the waiter is refused.
    gate.settle(5, 5);
    gate.settle(1, 2);
    await expect(fourth).rejects.toBeInstanceOf(BudgetExceededError);
    expect(gate.state()).toEqual({ budgetUsd: 10, spentUsd: 9, reservedUsd: 0 });
  });

  it("ends a wait with CancelledError on abort and resolves idle once nothing is held or waiting", async () => {
    const gate = createBudgetGate({ budgetUsd: 1 });
    gate.reserve(1);
    const controller = new AbortController();
    const waiting = gate.reserve(0.5, controller.signal);
    let idle = false;
    const settled = gate.idle().then(() => {
      idle = true;
    });
    controller.abort();
    await expect(waiting).rejects.toBeInstanceOf(CancelledError);
    await flush();
    expect(idle).toBe(false);
    gate.settle(1, 0.25);
    await settled;
    expect(gate.state().reservedUsd).toBe(0);
    await expect(createBudgetGate().idle()).resolves.toBeUndefined();
  });

  it("refuses everything once the cap is spent, even free calls, and never waits without a cap", () => {
    const spent = createBudgetGate({ budgetUsd: 0.5, spentUsd: 0.5 });
    expect(() => spent.reserve(0)).toThrow(/budget of \$0\.5000 reached \(spent \$0\.5000\)/);
    const uncapped = createBudgetGate();
    for (let call = 0; call < 100; call += 1) expect(uncapped.reserve(1e9)).toBeUndefined();
  });
});
