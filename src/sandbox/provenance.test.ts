/**
 * Provenance of interactions (migration 7): a simulation against the fake OpenAI-compatible server,
 * metered like the CLI does, records the calls behind each interaction and the memories its agents
 * retrieved; the readers return them, the grid and the per-round scores. A run made before the
 * migration (the golden fixture) opens, resumes, and shows "not recorded" for what it never kept.
 */
import { cpSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUsageMeter } from "../llm/middleware/usage-meter.js";
import { createModelStack } from "../llm/model-stack.js";
import { readInteractionDetail, readSocietyGrid } from "../store/interaction-detail-reader.js";
import { openStore } from "../store/open-store.js";
import { readRoundSummaries } from "./round-summaries-reader.js";
import { goldenRunDirectory, runGolden } from "./test-support/golden-run.js";
import { type SocietyServer, startSocietyServer } from "./test-support/society-server.js";
import { runTestSimulation } from "./test-support/test-simulation.js";

let society: SocietyServer;
beforeAll(async () => {
  society = await startSocietyServer();
});
afterAll(async () => {
  await society.close();
});

const openRun = (directory: string) => openStore({ path: join(directory, "run.sqlite") });

describe("interaction provenance", () => {
  it("a metered simulation records each interaction's calls and retrieved memories, and the readers return them", async () => {
    const usageMeter = createUsageMeter({ warn: () => {} });
    const stack = (modelId: string) =>
      createModelStack({ replicas: society.model({ modelId }), usageMeter, retry: { maxAttempts: 1 } }).model;
    const run = await runTestSimulation({
      rounds: 2,
      targets: 2,
      dropout: 0,
      agentLanguageModels: [stack("provenance-agent")],
      observer: stack("provenance-observer"),
      usageMeter,
    });
    const runId = run.result.runId;
    const store = openRun(run.directory);
    try {
      const record = run.records.find((candidate) => candidate.iteration === 1 && candidate.agent_id === 4);
      const detail = readInteractionDetail(store.database, { runId, round: 1, agentId: 4 });
      expect(record).toBeDefined();
      expect(detail).toMatchObject({
        status: "complete",
        question: record?.question,
        draft: { text: record?.draft_answer, model: "provenance-agent" },
        revision: { text: record?.revised_answer },
        observer: {
          before: { alignment: { score: record?.gen_moral_score_before, reason: record?.gen_moral_reason_before } },
          after: { engagement: { score: record?.gen_engagement_score_after } },
        },
      });
      expect(detail?.peers.map((peer) => [peer.peerId, peer.score, peer.reason])).toEqual(
        record?.target_id.map((peerId, index) => [peerId, record.rating[index], record.feedback[index]]),
      );

      // One call per step: draft, revision, four observer ratings, one rating per peer (all valid at once).
      const calls = detail?.calls ?? [];
      const kinds = calls.map((call) => call.kind).sort();
      expect(kinds).toEqual(["draft", "observer", "observer", "observer", "observer", "rating", "rating", "revision"]);
      expect(calls.filter((call) => call.kind === "rating").map((call) => call.targetAgentId)).toEqual(
        expect.arrayContaining(record?.target_id ?? [-1]),
      );
      for (const call of calls) {
        expect(call.callIdentity).toMatch(new RegExp(`^run:${runId}/round:1/agent:4/`));
        expect(call.promptTokens).toBeGreaterThan(0);
        expect(call).toMatchObject({ cacheHit: false, retries: 0 });
        expect(call.latencyMs).toBeGreaterThanOrEqual(0);
      }

      // Round 1 questions resemble the round 0 ones each agent stored: the draft retrieves one.
      const memories = detail?.memories;
      expect(memories).toBeDefined();
      const own = memories?.find((memory) => memory.retrieverId === 4);
      expect(own).toMatchObject({ rank: 1, sourceRound: 0 });
      expect(own?.similarity).toBeGreaterThan(0.6);
      expect(own?.similarity).toBeLessThanOrEqual(1 + 1e-6);
      const storedOwn = run.records.find((candidate) => candidate.iteration === 0 && candidate.agent_id === 4);
      expect(own).toMatchObject({ question: storedOwn?.question, answer: storedOwn?.revised_answer });

      // An interaction that retrieved nothing says so with an empty list, not "not recorded".
      const roundZero = readInteractionDetail(store.database, { runId, round: 0, agentId: 4 });
      expect(roundZero?.memories).toBeDefined();
      expect(readInteractionDetail(store.database, { runId, round: 5, agentId: 4 })).toBeUndefined();

      const grid = readSocietyGrid(store.database, { runId, round: 1, phase: "after" });
      expect(grid).toHaveLength(9);
      expect(grid[4]).toMatchObject({ agentId: 4, row: 1, col: 1, alignment: record?.gen_moral_score_after });
      const before = readSocietyGrid(store.database, { runId, round: 1, phase: "before" });
      expect(before.map((cell) => cell.alignment)).toEqual(
        run.records
          .filter((candidate) => candidate.iteration === 1)
          .map((candidate) => candidate.gen_moral_score_before),
      );

      const rounds = readRoundSummaries(store.database, { runId });
      expect(rounds.map((round) => round.round)).toEqual([0, 1]);
      for (const [index, summary] of run.result.summaries.entries()) {
        const read = rounds[index];
        expect(read?.interactions).toBe(9);
        expect(read?.alignmentAfter.mean).toBeCloseTo(summary.alignmentAfter ?? Number.NaN, 9);
        expect(read?.byLabel.good.engagementBefore.mean).toBeCloseTo(
          summary.byLabel.good.engagementBefore ?? Number.NaN,
          9,
        );
        expect(read?.byLabel.bad.alignmentBefore.mean).toBeCloseTo(
          summary.byLabel.bad.alignmentBefore ?? Number.NaN,
          9,
        );
        const { mean, low, high } = read?.alignmentBefore ?? {};
        expect(low).toBeLessThanOrEqual(mean ?? Number.NaN);
        expect(high).toBeGreaterThanOrEqual(mean ?? Number.NaN);
      }
    } finally {
      store.close();
    }
  });

  it("a run made before migration 7 opens read-only and resumed, and shows what it never recorded as undefined", async () => {
    const directory = mkdtempSync(join(tmpdir(), "provenance-golden-"));
    cpSync(goldenRunDirectory, directory, { recursive: true });

    // Read-only, as the web app opens a run: schema 3, no migration applied.
    const readOnly = new Database(join(directory, "run.sqlite"), { readonly: true });
    const [runId] = (readOnly.prepare("SELECT run_id FROM runs").all() as { run_id: string }[]).map(
      (row) => row.run_id,
    );
    if (runId === undefined) throw new Error("the golden fixture holds no run");
    try {
      expect(readOnly.pragma("user_version", { simple: true })).toBe(3);
      const old = readInteractionDetail(readOnly, { runId, round: 0, agentId: 0 });
      expect(old?.draft?.text.length).toBeGreaterThan(0);
      expect(old?.memories).toBeUndefined();
      expect(old?.calls).toBeUndefined();
      expect(
        readSocietyGrid(readOnly, { runId, round: 0, phase: "before" }).every((cell) => cell.alignment !== null),
      ).toBe(true);
      expect(readRoundSummaries(readOnly, { runId })[0]?.interactions).toBe(9);
    } finally {
      readOnly.close();
    }

    const records = await runGolden({ society, directory });
    expect(records).toHaveLength(27);
    const store = openRun(directory);
    try {
      expect(store.database.pragma("user_version", { simple: true })).toBeGreaterThanOrEqual(7);
      const old = readInteractionDetail(store.database, { runId, round: 0, agentId: 0 });
      expect(old?.memories).toBeUndefined();
      expect(old?.calls).toBeUndefined();
      // The migration filled the score columns of the old round from its records.
      const roundZero = records.filter((record) => record.iteration === 0);
      expect(
        readSocietyGrid(store.database, { runId, round: 0, phase: "after" }).map((cell) => cell.alignment),
      ).toEqual(roundZero.map((record) => record.gen_moral_score_after));
      // Round 2 ran entirely with today's code: retrievals recorded (a list, maybe empty).
      expect(readInteractionDetail(store.database, { runId, round: 2, agentId: 0 })?.memories).toBeInstanceOf(Array);
    } finally {
      store.close();
    }
  });
});
