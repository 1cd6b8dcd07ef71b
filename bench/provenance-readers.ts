/**
 * Times the web app's run readers on a synthetic 30x30, 50-round run (45,000 interactions, 12 usage
 * rows and 5 retrievals each), written through the simulation repository and the store as a run
 * would be. Run: `npx tsx bench/provenance-readers.ts [--rounds 50] [--size 30]`. Prints one JSON line.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { readRoundSummaries } from "../src/sandbox/round-summaries-reader.js";
import { formatSimulationCallIdentity } from "../src/spec/call-identity.js";
import { readInteractionDetail, readSocietyGrid } from "../src/store/interaction-detail-reader.js";
import { openStore } from "../src/store/open-store.js";
import { createSimulationRepository } from "../src/store/simulation-repository.js";

const { values } = parseArgs({ options: { rounds: { type: "string" }, size: { type: "string" } } });
const rounds = Number(values.rounds ?? 50);
const size = Number(values.size ?? 30);
const agents = size * size;
const directory = mkdtempSync(join(tmpdir(), "provenance-bench-"));
const path = join(directory, "run.sqlite");
const store = openStore({ path });
const repository = createSimulationRepository(store.database);
const runId = "bench";
repository.createRun({
  runId,
  config: { backScatter: { scoreOnly: false } },
  agents: Array.from({ length: agents }, (_, agentId) => ({
    agentId,
    row: Math.floor(agentId / size),
    col: agentId % size,
    label: agentId % 2 === 0 ? ("good" as const) : ("bad" as const),
    modelId: "agent",
  })),
  memories: [],
});
const text = (words: number, seed: number) =>
  Array.from({ length: words }, (_, i) => `word${(seed * 31 + i) % 97}`).join(" ");
const started = performance.now();
for (let round = 0; round < rounds; round += 1) {
  store.database.transaction(() => {
    for (let agentId = 0; agentId < agents; agentId += 1) {
      const targets = [
        (agentId + 1) % agents,
        (agentId + size) % agents,
        (agentId + agents - 1) % agents,
        (agentId + agents - size) % agents,
      ];
      repository.beginInteraction({
        runId,
        round,
        agentId,
        question: text(12, agentId),
        targetIds: targets,
        startedAt: 0,
      });
      const score = (offset: number) => 1 + ((agentId + round + offset) % 7);
      const rating = (offset: number) => ({
        valid: true,
        rating: score(offset),
        reason: text(25, offset),
        raw: "",
        attempts: 1,
        model: "m",
        usage: {},
      });
      for (const step of [
        { runId, round, agentId, step: "draft", payload: { text: text(80, agentId), model: "agent" } },
        { runId, round, agentId, step: "revision", payload: { text: text(80, agentId + 1), model: "agent" } },
        ...[
          "observer-alignment-before",
          "observer-engagement-before",
          "observer-alignment-after",
          "observer-engagement-after",
        ].map((step, index) => ({ runId, round, agentId, step, payload: rating(index) })),
        ...targets.map((peerId, index) => ({
          runId,
          round,
          agentId,
          step: "peer-rating",
          peerId,
          payload: rating(index + 4),
        })),
      ])
        repository.saveStep(step);
      const steps = [
        "draft",
        "revision",
        "observer-alignment-before",
        "observer-engagement-before",
        "observer-alignment-after",
        "observer-engagement-after",
      ];
      for (const step of [...steps, ...targets.map(() => "peer-rating"), "observer-alignment-after", "draft"]) {
        store.recordUsage({
          modelId: "agent",
          promptTokens: 300,
          completionTokens: 80,
          costUsd: 0.0001,
          cached: false,
          latencyMs: 40,
          retries: 0,
          callIdentity: formatSimulationCallIdentity({
            runId,
            round,
            agentId,
            step,
            ...(step === "peer-rating" ? { peerId: targets[0] as number } : {}),
          }),
        });
      }
      repository.completeInteraction({
        runId,
        round,
        agentId,
        completedAt: 1,
        memory: undefined,
        record: {
          question: text(12, agentId),
          draft_answer: text(80, agentId),
          revised_answer: text(80, agentId + 1),
          feedback: targets.map((_, index) => text(25, index)),
          gen_moral_score_before: score(0),
          gen_moral_reason_before: text(25, 0),
          gen_engagement_score_before: score(1),
          gen_engagement_reason_before: text(25, 1),
          gen_moral_score_after: score(2),
          gen_moral_reason_after: text(25, 2),
          gen_engagement_score_after: score(3),
          gen_engagement_reason_after: text(25, 3),
        },
        retrievals: [agentId, ...targets].map((retrieverId) => ({
          retrieverId,
          rank: 1,
          question: text(12, retrieverId),
          answer: text(60, retrieverId),
          similarity: 0.8,
          sourceRound: round - 1,
        })),
      });
    }
  })();
}
const writeSeconds = (performance.now() - started) / 1000;
store.database.pragma("wal_checkpoint(TRUNCATE)");

/** Wall and CPU milliseconds per call (CPU time is what a loaded machine distorts least). */
const time = (work: () => unknown, repeats: number): { wallMs: number; cpuMs: number } => {
  work();
  const start = performance.now();
  const cpu = process.cpuUsage();
  for (let index = 0; index < repeats; index += 1) work();
  const used = process.cpuUsage(cpu);
  const round = (value: number) => Number(value.toFixed(2));
  return {
    wallMs: round((performance.now() - start) / repeats),
    cpuMs: round((used.user + used.system) / 1000 / repeats),
  };
};
const database = store.database;
const result = {
  interactions: rounds * agents,
  usageRows: (database.prepare("SELECT COUNT(*) AS n FROM lm_usage").get() as { n: number }).n,
  databaseMiB: Number((statSync(path).size / 2 ** 20).toFixed(1)),
  writeSeconds: Number(writeSeconds.toFixed(1)),
  societyGrid: time(() => readSocietyGrid(database, { runId, round: Math.floor(rounds / 2), phase: "after" }), 20),
  interactionDetail: time(() => readInteractionDetail(database, { runId, round: rounds - 1, agentId: agents - 1 }), 50),
  roundSummaries: time(() => readRoundSummaries(database, { runId }), 5),
};
store.close();
rmSync(directory, { recursive: true, force: true });
process.stdout.write(`${JSON.stringify(result)}\n`);
