import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadPromptTemplates } from "../llm/prompts/prompt-templates.js";
import { openStore } from "../store/open-store.js";
import { estimateSimulation } from "./simulation-estimate.js";
import { DEFAULT_SIMULATION_PROFILE, measureSimulationProfile, type SimulationProfile } from "./simulation-profile.js";
import { generatedPrior, generatedQuestions, runTestSimulation } from "./test-support/test-simulation.js";

const prompts = loadPromptTemplates();
const free = () => ({ prompt: 0, completion: 0 });
/** No unreadable replies, no retries: every rating is one call. */
const exact: SimulationProfile = {
  ...DEFAULT_SIMULATION_PROFILE,
  unreadableRate: { peer: [0], observer: [0] },
  retryRate: 0,
};

describe("estimateSimulation", () => {
  it("counts exactly the calls a run makes when no reply is unreadable, and prices re-asks by attempt", async () => {
    const run = await runTestSimulation({ size: 3, rounds: 2, targets: 4 });
    const made = run.records.reduce((sum, record) => sum + record.usage.calls, 0);
    const options = {
      config: run.config,
      questions: generatedQuestions(9),
      prior: generatedPrior(),
      prompts,
      priceOf: free,
    };
    const estimate = estimateSimulation({ ...options, profile: exact });
    expect(estimate.high.chat.calls).toBe(made);
    expect(estimate.high.chat.reAsks).toBe(0);
    expect(estimate.high.rounds).toBe(2);
    // Four waves a round (draft; ratings of the draft; revision; ratings of the revision), each one
    // latency when the round's calls fit in the 64 slots; with fewer slots a round lasts as long as its
    // busiest model needs for all of its requests (waves of different interactions share the slots).
    const latency = exact.latencyMs / 1000;
    expect(estimate.high.wallSeconds).toBeCloseTo(2 * 4 * latency, 6);
    const busiest = Math.max(...Object.values(estimate.high.perModel).map((model) => model.requests / 2));
    for (const slots of [1, 3, 8]) {
      const limited = estimateSimulation({ ...options, profile: exact, concurrency: slots });
      expect(limited.high.wallSeconds, `${slots} slots`).toBeCloseTo(
        2 * Math.max(4, Math.ceil(busiest / slots)) * latency,
        6,
      );
    }

    expect(estimate.high.embedding).toMatchObject({ calls: 0, inProcess: true });
    // A remote embedder: one batch for the prior's questions, one for round 0's; round 1 asks the same nine.
    const remote = { ...run.config, models: { ...run.config.models, embedder: "openai:text-embedding-3-small" } };
    const embedded = estimateSimulation({ ...options, config: remote, profile: exact });
    expect(embedded.high.embedding.calls).toBe(2);
    expect(embedded.high.embedding.texts).toBeGreaterThan(9);
    expect(embedded.high.chat.calls).toBe(made);

    // Half the replies unreadable, three attempts: a rating costs 1 + 0.5 + 0.25 calls.
    const interactions = run.records.length;
    const ratings = made - 2 * interactions;
    const noisy = estimateSimulation({
      ...options,
      profile: { ...exact, unreadableRate: { peer: [0.5], observer: [0.5] } },
    });
    expect(noisy.high.chat.calls).toBeCloseTo(2 * interactions + 1.75 * ratings, 6);
    expect(noisy.high.chat.promptTokens).toBeGreaterThan(estimate.high.chat.promptTokens * 1.5);
  });

  it("for a run being resumed counts only the rounds left, and a plateau rule gives a range up to the cap", async () => {
    const run = await runTestSimulation({ size: 3, rounds: 2 });
    const store = openStore({ path: join(run.directory, "run.sqlite") });
    try {
      const options = {
        questions: generatedQuestions(9),
        prior: generatedPrior(),
        prompts,
        priceOf: free,
        profile: exact,
      };
      const finished = estimateSimulation({ ...options, config: run.config, resumeFrom: store.database });
      expect(finished.completedRounds).toBe(2);
      expect(finished.high.rounds).toBe(0);
      expect(finished.high.chat.calls).toBe(0);

      const plateau = { ...run.config, rounds: 6, untilPlateau: { tolerance: 0.01, patience: 2, minimumRounds: 2 } };
      const more = estimateSimulation({ ...options, config: plateau, resumeFrom: store.database });
      expect(more.high.rounds).toBe(4);
      expect(more.low.rounds).toBeGreaterThanOrEqual(1);
      expect(more.low.rounds).toBeLessThanOrEqual(2);
      const fresh = estimateSimulation({ ...options, config: plateau });
      expect(fresh.low.rounds).toBe(2);
      expect(fresh.high.rounds).toBe(6);
      // The last four of six rounds cost as much as the resumed estimate's four.
      expect(more.high.chat.calls).toBeCloseTo((fresh.high.chat.calls * 4) / 6, 6);

      // The run's own steps are what the profile measures.
      const profile = measureSimulationProfile({
        databases: [store.database],
        prompts,
        priorPairs: generatedPrior().answers.good,
      });
      expect(profile.source).toBe("measured");
      expect(profile.interactions).toBe(18);
      expect(profile.unreadableRate.peer[0]).toBe(0);
    } finally {
      store.close();
    }
  });
});
