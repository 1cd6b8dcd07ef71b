import { describe, expect, it } from "vitest";
import { openStore } from "../store/open-store.js";
import { createSimulationRepository, type SimulationRepository } from "../store/simulation-repository.js";
import { createTurnWriter } from "./turn-writer.js";

function setup() {
  const store = openStore({ path: ":memory:" });
  const repository = createSimulationRepository(store.database);
  repository.createRun({
    runId: "r",
    config: {},
    agents: [0, 1].map((agentId) => ({ agentId, row: 0, col: agentId, label: "good" as const, modelId: "m" })),
    memories: [],
  });
  let transactions = 0;
  const counted: SimulationRepository = {
    ...repository,
    exclusive: (work) => {
      transactions += 1;
      return repository.exclusive(work);
    },
  };
  return { repository, counted, transactions: () => transactions };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const begin = (agentId: number) => ({
  runId: "r",
  round: 0,
  agentId,
  question: "q",
  targetIds: [1 - agentId],
  startedAt: 1,
});

describe("turn writer", () => {
  it("commits a turn's starts, steps and completions in one transaction, in order, before the next turn", async () => {
    const { repository, counted, transactions } = setup();
    const writer = createTurnWriter({ repository: counted });
    writer.beginInteraction(begin(0));
    writer.saveStep({ runId: "r", round: 0, agentId: 0, step: "draft", payload: { text: "d" } });
    writer.beginInteraction(begin(1));
    writer.completeInteraction({
      runId: "r",
      round: 0,
      agentId: 0,
      record: { done: true },
      completedAt: 2,
      memory: { agentId: 0, question: "q", answer: "a", round: 0 },
    });
    // Nothing is written within the turn that queued it.
    expect(repository.loadRoundInteractions("r", 0)).toEqual([]);
    await nextTurn();
    expect(transactions()).toBe(1);
    const [first, second] = repository.loadRoundInteractions("r", 0);
    expect(first).toMatchObject({ agentId: 0, status: "complete", record: { done: true } });
    expect(first?.steps.get("draft")).toEqual({ text: "d" });
    expect(second).toMatchObject({ agentId: 1, status: "running", targetIds: [0] });
    expect(repository.loadMemories("r")).toEqual([{ agentId: 0, question: "q", answer: "a", round: 0 }]);

    writer.saveStep({ runId: "r", round: 0, agentId: 1, step: "draft", payload: { text: "e" } });
    writer.flush();
    expect(transactions()).toBe(2);
    expect(repository.loadRoundInteractions("r", 0)[1]?.steps.get("draft")).toEqual({ text: "e" });
    await nextTurn();
    writer.flush();
    expect(transactions()).toBe(2);
  });
});
