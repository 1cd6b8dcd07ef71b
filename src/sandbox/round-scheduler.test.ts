import { describe, expect, it } from "vitest";
import { BudgetExceededError } from "../spec/errors.js";
import { type RoundPlan, runRounds } from "./round-scheduler.js";

/** A controllable run: every interaction waits until the test releases it. */
function harness({
  reads,
  complete = () => false,
}: {
  reads: (round: number, agentId: number) => number[];
  complete?: (round: number, agentId: number) => boolean;
}) {
  const log: string[] = [];
  const pending = new Map<string, () => void>();
  let inFlight = 0;
  let mostInFlight = 0;
  const settle = () => new Promise((resolve) => setTimeout(resolve, 5));
  return {
    log,
    mostInFlight: () => mostInFlight,
    release: async (key: string) => {
      await settle();
      const done = pending.get(key);
      if (done === undefined) throw new Error(`${key} is not running (running: ${[...pending.keys()].join(", ")})`);
      pending.delete(key);
      done();
      await settle();
    },
    running: () => [...pending.keys()].sort(),
    options: {
      prepare: async (round: number): Promise<RoundPlan> => {
        log.push(`prepare ${round}`);
        return { complete: (agentId) => complete(round, agentId), reads: (agentId) => reads(round, agentId) };
      },
      open: (round: number) => log.push(`open ${round}`),
      run: (round: number, agentId: number) =>
        new Promise<void>((resolve) => {
          inFlight += 1;
          mostInFlight = Math.max(mostInFlight, inFlight);
          log.push(`start ${round}:${agentId}`);
          pending.set(`${round}:${agentId}`, () => {
            inFlight -= 1;
            log.push(`end ${round}:${agentId}`);
            resolve();
          });
        }),
      finish: (round: number) => {
        log.push(`finish ${round}`);
        return true;
      },
    },
  };
}

describe("runRounds", () => {
  it("with lookahead, starts a next-round interaction once the interactions it reads are complete, not before", async () => {
    // Agent 0 of round 1 reads agents 0 and 1 of round 0; agent 1 reads agents 1 and 2; agent 2 reads 2 and 0.
    const run = harness({ reads: (_round, agentId) => [agentId, (agentId + 1) % 3] });
    const finished = runRounds({ firstRound: 0, rounds: 2, agentCount: 3, limit: 10, lookahead: true, ...run.options });
    await run.release("0:1");
    expect(run.running()).toEqual(["0:0", "0:2"]);
    await run.release("0:2");
    // 1:1 reads 0:1 and 0:2, both complete: it starts while round 0 still runs (0:0), before its barrier.
    expect(run.running()).toEqual(["0:0", "1:1"]);
    expect(run.log).not.toContain("finish 0");
    await run.release("0:0");
    expect(run.running()).toEqual(["1:0", "1:1", "1:2"]);
    for (const key of ["1:0", "1:1", "1:2"]) await run.release(key);
    expect(await finished).toBe(2);
    expect(run.log.filter((line) => !line.startsWith("start") && !line.startsWith("end"))).toEqual([
      "prepare 0",
      "open 0",
      "prepare 1",
      "finish 0",
      "open 1",
      "finish 1",
    ]);
  });

  it("without lookahead, nothing of a round starts before the previous barrier; the limit holds; completed interactions are skipped", async () => {
    const run = harness({
      reads: (_round, agentId) => [agentId],
      complete: (round, agentId) => round === 0 && agentId === 2,
    });
    const finished = runRounds({ firstRound: 0, rounds: 2, agentCount: 4, limit: 2, lookahead: false, ...run.options });
    await run.release("0:0");
    expect(run.running()).toEqual(["0:1", "0:3"]);
    await run.release("0:1");
    await run.release("0:3");
    expect(run.log.indexOf("finish 0")).toBeLessThan(run.log.indexOf("start 1:0"));
    for (const key of ["1:0", "1:1"]) await run.release(key);
    for (const key of ["1:2", "1:3"]) await run.release(key);
    expect(await finished).toBe(2);
    expect(run.mostInFlight()).toBe(2);
    expect(run.log).not.toContain("start 0:2");
  });

  it("stops at a barrier that says so, and after a failure waits for what runs, then throws the budget stop first", async () => {
    const stopping = harness({ reads: (_round, agentId) => [agentId] });
    const stoppedAt = runRounds({
      firstRound: 1,
      rounds: 5,
      agentCount: 1,
      limit: 4,
      lookahead: false,
      ...stopping.options,
      finish: () => false,
    });
    await stopping.release("1:0");
    expect(await stoppedAt).toBe(2);

    let calls = 0;
    const failing = runRounds({
      firstRound: 0,
      rounds: 2,
      agentCount: 3,
      limit: 3,
      lookahead: true,
      prepare: async () => ({ complete: () => false, reads: (agentId) => [agentId] }),
      open: () => {},
      run: async (_round, agentId) => {
        calls += 1;
        await new Promise((resolve) => setTimeout(resolve, 10 * (agentId + 1)));
        if (agentId === 0) throw new Error("a side effect");
        if (agentId === 1) throw new BudgetExceededError(1.5, 1);
      },
      finish: () => true,
    });
    await expect(failing).rejects.toThrow(/budget of \$1.0000 reached/);
    // Agent 2's interaction of round 0 finished after the failures; nothing new started after them.
    expect(calls).toBe(3);
  });

  it("reads a resumed round's finished interactions even when the next round would be ready first", async () => {
    // Round 0 was half done by an earlier process and is slow to load; round 1 loads at once.
    const started: string[] = [];
    const finished = runRounds({
      firstRound: 0,
      rounds: 2,
      agentCount: 2,
      limit: 4,
      lookahead: true,
      prepare: async (round) => {
        if (round === 0) await new Promise((resolve) => setTimeout(resolve, 30));
        return { complete: (agentId) => round === 0 && agentId === 1, reads: () => [0, 1] };
      },
      open: () => {},
      run: async (round, agentId) => {
        started.push(`${round}:${agentId}`);
      },
      finish: () => true,
    });
    expect(await finished).toBe(2);
    expect(started).toEqual(["0:0", "1:0", "1:1"]);
  });
});
