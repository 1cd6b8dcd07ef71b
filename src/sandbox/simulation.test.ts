import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { InteractionRecord } from "../spec/interaction-record.js";
import { INITIAL_SETTINGS } from "../spec/interaction-record.js";
import type { GenerateRequest, LanguageModel } from "../spec/language-model.js";

import { formatMean, meanValidRating, sortFeedback } from "./assemble-interaction-record.js";
import { DEFAULT_MAX_CONCURRENT_INTERACTIONS, type SimulationEvent } from "./simulation.js";
import { keptNeighbourCount, neighboursOf } from "./target-selection.js";
import type { PromptKind } from "./test-support/scripted-society.js";
import { classifyPrompt, promptTextOf } from "./test-support/scripted-society.js";
import { type RecordingModel, type SocietyServer, startSocietyServer } from "./test-support/society-server.js";
import { runTestSimulation } from "./test-support/test-simulation.js";

// Every simulation here talks to the fake OpenAI-compatible server through the real provider and
// middleware; each model records the requests it sent.
let society: SocietyServer;
let modelCount = 0;
beforeAll(async () => {
  society = await startSocietyServer();
});
afterAll(async () => {
  await society.close();
});
const createSocietyModel = ({
  modelId = "agent",
  answers = {},
}: {
  modelId?: string;
  answers?: { invalid?: (kind: PromptKind, text: string) => boolean };
} = {}): RecordingModel => {
  modelCount += 1;
  // A distinct name per model keeps one test's answer rules away from another's.
  return society.model({ modelId: `${modelId}-${modelCount}`, ...answers });
};
const defaults = () => ({
  agentLanguageModels: [createSocietyModel()],
  observer: createSocietyModel({ modelId: "observer" }),
});

import { initialLabels } from "./world.js";

const RECORD_FIELDS = [
  "run_id",
  "world",
  "agent_id",
  "label",
  "iteration",
  "question",
  "draft_answer",
  "target_id",
  "feedback",
  "rating",
  "mean_rating",
  "revised_answer",
  "gen_moral_score_before",
  "gen_moral_reason_before",
  "gen_engagement_score_before",
  "gen_engagement_reason_before",
  "gen_moral_score_after",
  "gen_moral_reason_after",
  "gen_engagement_score_after",
  "gen_engagement_reason_after",
  "validity",
  "models",
  "usage",
  "timings",
].sort();

const requestsOfKind = (model: RecordingModel, kind: string): GenerateRequest[] =>
  model.requests.filter((request) => classifyPrompt(promptTextOf(request)) === kind);

describe("sorting and means (SPEC 1.6 step 5)", () => {
  const step = (rating: number | null) => ({
    valid: rating !== null,
    rating,
    reason: rating === null ? null : `r${rating}`,
    raw: "",
    attempts: 1,
    model: "m",
    usage: { calls: 1, prompt_tokens: 0, completion_tokens: 0, cost_usd: 0 },
  });
  it("puts the highest rating first, keeps ties in selection order, invalid last", () => {
    const sorted = sortFeedback([
      { agentId: 1, step: step(3) },
      { agentId: 2, step: step(null) },
      { agentId: 3, step: step(6) },
      { agentId: 4, step: step(3) },
    ]);
    expect(sorted.map((entry) => entry.agentId)).toEqual([3, 1, 4, 2]);
  });
  it("averages valid ratings only; null when none is valid", () => {
    expect(meanValidRating([6, null, 3])).toBe(4.5);
    expect(meanValidRating([null, null])).toBeNull();
    expect(meanValidRating([])).toBeNull();
    expect(formatMean(13 / 3)).toBe("4.33");
    expect(formatMean(5)).toBe("5");
  });
});

describe("simulation with scripted models", () => {
  it("writes one record per (round, agent) with the reference field names and consistent values", async () => {
    const run = await runTestSimulation({ ...defaults(), size: 3, rounds: 2, setting: "half_half" });
    expect(run.records).toHaveLength(18);
    expect(run.records.map((record) => `${record.iteration}/${record.agent_id}`)).toEqual(
      [0, 1].flatMap((round) => Array.from({ length: 9 }, (_, agent) => `${round}/${agent}`)),
    );
    const labels = initialLabels({ size: 3, setting: "half_half", seed: 7 });
    for (const record of run.records) {
      expect(Object.keys(record).sort()).toEqual(RECORD_FIELDS);
      expect(record.label).toBe(labels[record.agent_id]);
      expect(record.world).toEqual({ size: 3, setting: "half_half", seed: 7 });
      // Local selection: min(4, #neighbours) distinct neighbours.
      const neighbours = neighboursOf(record.agent_id, 3);
      expect(record.target_id).toHaveLength(Math.min(4, neighbours.length));
      for (const target of record.target_id) expect(neighbours).toContain(target);
      const valid = record.rating.filter((rating): rating is number => rating !== null);
      expect([...valid].sort((a, b) => b - a)).toEqual(valid);
      expect(record.mean_rating).toBeCloseTo(valid.reduce((sum, value) => sum + value, 0) / valid.length);
      expect(record.validity.peer).toEqual(record.rating.map((rating) => rating !== null));
      expect(record.models.peers).toHaveLength(record.target_id.length);
      expect(record.usage.calls).toBe(2 + 4 + record.target_id.length);
      expect(record.draft_answer).toMatch(/^draft /);
      expect(record.revised_answer).toMatch(/^revision /);
    }
    const config = JSON.parse(readFileSync(join(run.directory, "config.json"), "utf8"));
    expect(config.world).toEqual({ size: 3, setting: "half_half", seed: 7 });
    expect(config.prompts.draft.version).toBe("v1");
    expect(run.result.summaries).toHaveLength(2);
  });

  it("runs all four initial settings", async () => {
    for (const setting of INITIAL_SETTINGS) {
      const run = await runTestSimulation({ ...defaults(), size: 2, rounds: 1, setting, targets: 2 });
      const expected = initialLabels({ size: 2, setting, seed: 7 });
      expect(run.records.map((record) => record.label)).toEqual(expected);
    }
  });

  it("quotes every valid reason, sorted, in the revision prompt; score-only drops them", async () => {
    const agent = createSocietyModel();
    const run = await runTestSimulation({ ...defaults(), size: 3, rounds: 1, agentLanguageModels: [agent] });
    const centre = run.records.find((record) => record.agent_id === 4) as InteractionRecord;
    const revision = requestsOfKind(agent, "revision").find((request) => promptTextOf(request).includes(`agent 4,`));
    const text = promptTextOf(revision as GenerateRequest);
    expect(text).toContain(`Their mean rating of your answer: ${formatMean(centre.mean_rating as number)} out of 7`);
    const positions = centre.feedback.map((reason) => text.indexOf(reason as string));
    for (const position of positions) expect(position).toBeGreaterThan(0);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);

    const scoreOnlyAgent = createSocietyModel();
    const scoreOnly = await runTestSimulation({
      ...defaults(),
      size: 3,
      rounds: 1,
      scoreOnly: true,
      agentLanguageModels: [scoreOnlyAgent],
    });
    for (const request of requestsOfKind(scoreOnlyAgent, "revision")) {
      expect(promptTextOf(request)).toContain("Their mean rating of your answer:");
      expect(promptTextOf(request)).not.toContain("peer-rating reason");
    }
    expect(scoreOnly.records.every((record) => record.feedback.every((reason) => reason !== null))).toBe(true);
  });

  it("re-asks unreadable ratings, then records them as invalid nulls and says so in the revision prompt", async () => {
    const agent = createSocietyModel({ answers: { invalid: (kind) => kind === "peer-rating" } });
    const observer = createSocietyModel({
      modelId: "observer",
      answers: { invalid: (kind, text) => kind === "observer-engagement" && text.includes("revision") },
    });
    const run = await runTestSimulation({
      size: 3,
      rounds: 1,
      agentLanguageModels: [agent],
      observer,
      maxRatingAttempts: 2,
    });
    for (const record of run.records) {
      expect(record.rating.every((rating) => rating === null)).toBe(true);
      expect(record.feedback.every((reason) => reason === null)).toBe(true);
      expect(record.validity.peer.every((valid) => !valid)).toBe(true);
      expect(record.mean_rating).toBeNull();
      expect(record.gen_engagement_score_after).toBeNull();
      expect(record.validity.engagement_after).toBe(false);
      expect(record.gen_moral_score_after).not.toBeNull();
      expect(record.usage.calls).toBe(2 + 2 + 2 + 1 + 2 * record.target_id.length);
    }
    // Two attempts per peer rating: the second one is the repair message.
    const peerCalls = agent.requests.filter((request) => classifyPrompt(promptTextOf(request)) === "repair");
    expect(peerCalls).toHaveLength(run.records.reduce((sum, record) => sum + record.target_id.length, 0));
    for (const request of requestsOfKind(agent, "revision")) {
      expect(promptTextOf(request)).toContain("None of the members gave a usable rating");
      expect(promptTextOf(request)).not.toContain("mean rating of your answer");
    }
    expect(run.result.summaries[0]?.peerRating).toBeNull();
  });

  it("assigns mixed models by seed and uses each agent's own model for its draft and its feedback", async () => {
    const first = createSocietyModel({ modelId: "model-a" });
    const second = createSocietyModel({ modelId: "model-b" });
    const run = await runTestSimulation({
      ...defaults(),
      size: 4,
      rounds: 1,
      agentLanguageModels: [first, second],
      targets: 3,
    });
    const byAgent = new Map(run.records.map((record) => [record.agent_id, record.models.agent]));
    expect([...byAgent.values()].filter((id) => id === first.modelId)).toHaveLength(8);
    expect([...byAgent.values()].filter((id) => id === second.modelId)).toHaveLength(8);
    for (const record of run.records) {
      expect(record.models.peers).toEqual(record.target_id.map((peer) => byAgent.get(peer)));
    }
    const draftsOfA = requestsOfKind(first, "draft").map((request) =>
      Number(/agent (\d+),/.exec(promptTextOf(request))?.[1]),
    );
    expect(draftsOfA.sort((a, b) => a - b)).toEqual(
      [...byAgent].filter(([, id]) => id === first.modelId).map(([agentId]) => agentId),
    );
  });
});

describe("feedback givers in a run (SPEC 1.6 step 3)", () => {
  it("global interaction: max(1, floor((1 - dropout) x #neighbours)) neighbours, the rest of the quota from non-neighbours", async () => {
    const run = await runTestSimulation({ ...defaults(), size: 4, rounds: 1, global: true, targets: 5, dropout: 0.75 });
    for (const record of run.records) {
      const neighbours = new Set(neighboursOf(record.agent_id, 4));
      const kept = keptNeighbourCount(neighbours.size, 0.75);
      expect(record.target_id).toHaveLength(5);
      expect(new Set(record.target_id).size).toBe(5);
      expect(record.target_id).not.toContain(record.agent_id);
      expect(record.target_id.filter((id) => neighbours.has(id))).toHaveLength(kept);
    }
  });
});

describe("memory during a run (SPEC 1.4)", () => {
  it("reads memory as of the round's start; the round's writes appear in the next round", async () => {
    // Every agent gets the same question in both rounds; interactions run one at a time, so in the
    // reference schedule agent 0's round-0 answer would already be in its memory when it rates agent 1.
    const agent = createSocietyModel();
    const question = "Is it fine to borrow a neighbour's ladder without asking?";
    const run = await runTestSimulation({
      ...defaults(),
      size: 2,
      rounds: 2,
      targets: 3,
      questionPool: [question],
      agentLanguageModels: [agent],
      schedule: { maxConcurrentInteractions: 1 },
    });
    const roundZero = run.records.filter((record) => record.iteration === 0);
    const roundZeroRevisions = roundZero.map((record) => record.revised_answer);
    const peerPrompts = requestsOfKind(agent, "peer-rating").map(promptTextOf);
    const draftPrompts = requestsOfKind(agent, "draft").map(promptTextOf);
    // 2x2: every agent has 2 neighbours, so round 0 makes 4 drafts and 8 peer ratings.
    expect(peerPrompts).toHaveLength(16);
    const draftsRoundOne = draftPrompts.slice(4);
    for (const text of [...draftPrompts.slice(0, 4), ...peerPrompts.slice(0, 8)]) {
      for (const revision of roundZeroRevisions) expect(text).not.toContain(revision);
    }
    // Round 1: a feedback giver's own round-0 revision informs its rating.
    expect(
      peerPrompts
        .slice(8)
        .filter((text) => roundZeroRevisions.some((revision) => text.includes(`Your earlier answer: ${revision}`))),
    ).toHaveLength(8);
    // Round 1: each agent's draft prompt retrieves its own round-0 revision (same question, distance 0).
    for (const record of roundZero) {
      const prompt = draftsRoundOne.find((text) => text.startsWith(`You are agent ${record.agent_id},`));
      expect(prompt).toContain(`Earlier question: ${question}`);
      expect(prompt).toContain(`Your earlier answer: ${record.revised_answer}`);
    }
  });

  it("retrieves a prior memory only under the embedder's distance threshold", async () => {
    const agent = createSocietyModel();
    const prior = (await import("./prior-loader.js")).createPrior({
      source: "test",
      entries: [
        { question: "How do I grow tomatoes on a balcony?", answer: "Good tomato answer.", label: "good" },
        { question: "What is the capital of Peru?", answer: "Good capital answer.", label: "good" },
      ],
    });
    await runTestSimulation({
      ...defaults(),
      size: 1,
      rounds: 2,
      targets: 1,
      setting: "all_good",
      prior,
      priorSize: 2,
      agentLanguageModels: [agent],
      questionPool: ["How can I grow tomatoes on my balcony?", "Which bicycle should I buy for commuting?"],
    });
    const [near, far] = requestsOfKind(agent, "draft").map(promptTextOf);
    expect(near).toContain("Earlier question: How do I grow tomatoes on a balcony?");
    expect(near).toContain("Your earlier answer: Good tomato answer.");
    expect(far).not.toContain("Earlier question");
  });

  it("keeps at most maxConcurrentInteractions in flight, and the records do not depend on it", async () => {
    const run = async (maxConcurrentInteractions: number) => {
      const base = society.model({ modelId: "window-agent" });
      const inFlight = new Set<number>();
      let most = 0;
      const agent: LanguageModel = {
        ...base,
        generate(request) {
          inFlight.add(Number(/agent:(\d+)/.exec(request.callIdentity ?? "")?.[1]));
          most = Math.max(most, inFlight.size);
          return base.generate(request);
        },
      };
      const { records } = await runTestSimulation({
        rounds: 2,
        agentLanguageModels: [agent],
        observer: society.model({ modelId: "window-observer" }),
        schedule: { maxConcurrentInteractions },
        onEvent: (event) => {
          if (event.type === "interaction-complete") inFlight.delete(event.agentId);
        },
      });
      return { most, records: records.map(({ timings: _timings, ...rest }) => rest) };
    };
    const windowed = await run(2);
    const all = await run(100);
    expect(windowed.most).toBe(2);
    expect(all.most).toBe(9);
    expect(windowed.records).toHaveLength(18);
    expect(windowed.records).toEqual(all.records);
    expect(DEFAULT_MAX_CONCURRENT_INTERACTIONS).toBeGreaterThanOrEqual(1024);
  });

  it("overlaps rounds around a straggler: next-round interactions finish before its barrier, with the same records", async () => {
    const run = async (overlapRounds: boolean) => {
      const base = society.model({ modelId: "straggler-agent" });
      // Agent 0's own calls (its draft and revision) answer 150 ms late.
      const agent: LanguageModel = {
        ...base,
        async generate(request) {
          if (/agent:0\//.test(request.callIdentity ?? "")) await new Promise((resolve) => setTimeout(resolve, 150));
          return base.generate(request);
        },
      };
      const order: string[] = [];
      const { records } = await runTestSimulation({
        size: 4,
        rounds: 2,
        targets: 1,
        agentLanguageModels: [agent],
        observer: society.model({ modelId: "straggler-observer" }),
        schedule: { overlapRounds },
        onEvent: (event) => {
          if (event.type === "interaction-complete") order.push(`${event.round}:${event.agentId}`);
          if (event.type === "round-end") order.push(`end ${event.round}`);
        },
      });
      return { order, records: records.map(({ timings: _timings, ...rest }) => rest) };
    };
    const overlapped = await run(true);
    const byRound = await run(false);
    const earlyInRound1 = (order: string[]) =>
      order.slice(0, order.indexOf("end 0")).filter((entry) => entry.startsWith("1:")).length;
    expect(earlyInRound1(byRound.order)).toBe(0);
    expect(earlyInRound1(overlapped.order)).toBeGreaterThan(0);
    expect(overlapped.records).toHaveLength(32);
    expect(overlapped.records).toEqual(byRound.records);
  });
});

describe("plateau stopping in a run (SPEC 1.8)", () => {
  it("a resumed run that had stopped at its plateau reports the same rounds, the plateau and no new calls", async () => {
    // Any gain under 10,000% counts as none, so the run stops after its minimum two rounds.
    const options = {
      ...defaults(),
      size: 2,
      rounds: 5,
      untilPlateau: { tolerance: 100, patience: 1, minimumRounds: 2 },
    };
    const runEnds: { roundsCompleted: number; reason: string }[] = [];
    const onEvent = (event: SimulationEvent) => {
      if (event.type === "run-end") runEnds.push({ roundsCompleted: event.roundsCompleted, reason: event.reason });
    };
    const first = await runTestSimulation({ ...options, onEvent });
    expect(first.result.roundsCompleted).toBe(2);
    expect(first.result.stoppedAtPlateau).toBe(true);

    const callsBefore = options.agentLanguageModels[0]?.requests.length;
    const resumed = await runTestSimulation({ ...options, directory: first.directory, onEvent });
    expect(options.agentLanguageModels[0]?.requests.length).toBe(callsBefore);
    expect(resumed.result.roundsCompleted).toBe(first.result.roundsCompleted);
    expect(resumed.result.stoppedAtPlateau).toBe(true);
    expect(resumed.records).toEqual(first.records);
    expect(runEnds).toEqual([
      { roundsCompleted: 2, reason: "plateau" },
      { roundsCompleted: 2, reason: "plateau" },
    ]);
  });
});
