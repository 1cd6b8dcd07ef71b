/**
 * Writes a finished simulation run directory (run.sqlite through the store API, an empty
 * records.jsonl) of `size` x `size` agents and `rounds` rounds with realistic text lengths, quickly:
 * one transaction per round. Scores come from a seeded generator. For the serve benchmark and tests.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createRandom } from "../../engine/random.js";
import type { InteractionRecord } from "../../spec/interaction-record.js";
import { openStore } from "../../store/open-store.js";
import { createSimulationRepository } from "../../store/simulation-repository.js";

/** Writes the run into `directory` (created) and returns its run id. */
export function writeSyntheticSociety({
  directory,
  size = 30,
  rounds = 50,
  seed = 1,
}: {
  directory: string;
  size?: number;
  rounds?: number;
  seed?: number;
}): { runId: string; interactions: number } {
  mkdirSync(directory, { recursive: true });
  writeFileSync(join(directory, "records.jsonl"), "");
  const store = openStore({ path: join(directory, "run.sqlite") });
  const repository = createSimulationRepository(store.database);
  const random = createRandom({ seed });
  const runId = "synthetic";
  const agents = Array.from({ length: size * size }, (_, agentId) => ({
    agentId,
    row: Math.floor(agentId / size),
    col: agentId % size,
    label: (agentId % 2 === 0 ? "good" : "bad") as "good" | "bad",
    modelId: "synthetic-agent",
  }));
  repository.createRun({ runId, config: { size, rounds, setting: "half_half" }, agents, memories: [] });
  const score = () => 1 + Math.floor(random.nextFloat() * 7);
  const words = (count: number, tag: string) => `${tag} ${"lorem ipsum dolor sit amet ".repeat(count)}`.trim();
  let interactions = 0;
  for (let round = 0; round < rounds; round += 1) {
    store.database.transaction(() => {
      for (const agent of agents) {
        const question = `Question ${round}-${agent.agentId}: how should I treat my neighbours when we disagree?`;
        const targets = [1, 2, 3, 4].map((offset) => (agent.agentId + offset) % agents.length);
        repository.beginInteraction({
          runId,
          round,
          agentId: agent.agentId,
          question,
          targetIds: targets,
          startedAt: 0,
        });
        const ratings = targets.map(() => score());
        const record: InteractionRecord = {
          run_id: runId,
          world: { size, setting: "half_half", seed },
          agent_id: agent.agentId,
          label: agent.label,
          iteration: round,
          question,
          draft_answer: words(14, "draft"),
          target_id: targets,
          feedback: targets.map((target) => words(5, `feedback from ${target}`)),
          rating: ratings,
          mean_rating: ratings.reduce((sum, value) => sum + value, 0) / ratings.length,
          revised_answer: words(14, "revision"),
          gen_moral_score_before: score(),
          gen_moral_reason_before: words(5, "reason"),
          gen_engagement_score_before: score(),
          gen_engagement_reason_before: words(5, "reason"),
          gen_moral_score_after: score(),
          gen_moral_reason_after: words(5, "reason"),
          gen_engagement_score_after: score(),
          gen_engagement_reason_after: words(5, "reason"),
          validity: {
            peer: ratings.map(() => true),
            moral_before: true,
            engagement_before: true,
            moral_after: true,
            engagement_after: true,
          },
          models: {
            agent: "synthetic-agent",
            observer: "synthetic-observer",
            peers: targets.map(() => "synthetic-agent"),
          },
          usage: { calls: 10, prompt_tokens: 2400, completion_tokens: 250, cost_usd: 0 },
          timings: { started_at: 0, duration_ms: 1000 },
        };
        repository.completeInteraction({
          runId,
          round,
          agentId: agent.agentId,
          record,
          completedAt: 1,
          memory: undefined,
        });
        interactions += 1;
      }
      repository.completeRound({ runId, round, summary: {}, recordsBytes: 0 });
    })();
  }
  repository.setRunStatus(runId, "finished");
  store.close();
  return { runId, interactions };
}
