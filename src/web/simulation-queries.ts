/**
 * The read-only queries of the simulation pages that the store's readers (interaction-detail-reader.ts,
 * round-summaries-reader.ts) do not cover: the run's overview and one agent's interactions.
 */
import type Database from "better-sqlite3";
import { latestCompletedRound } from "./run-watcher.js";

/** Whether a score is the observer's before or after revision. */
export type RevisionPhase = "before" | "after";

/** The simulation stored in a run.sqlite. */
export interface SimulationOverview {
  runId: string;
  /** Grid side. */
  size: number;
  /** Rounds configured (undefined with --until-plateau and no limit). */
  rounds: number | undefined;
  /** The latest round whose barrier completed, -1 before the first. */
  latestRound: number;
  /** The latest round with any completed interaction (the round in progress while running), -1 when none. */
  latestActiveRound: number;
  agents: number;
  status: string;
}

/** The first simulation of the database, or undefined when it holds none yet. */
export function readSimulationOverview(database: Database.Database): SimulationOverview | undefined {
  const run = database
    .prepare("SELECT run_id, config_json, status FROM runs WHERE kind = 'simulation' ORDER BY created_at LIMIT 1")
    .get() as { run_id: string; config_json: string; status: string } | undefined;
  if (!run) return undefined;
  const config = parseObject(run.config_json);
  const agents = (
    database.prepare("SELECT COUNT(*) AS count FROM simulation_agents WHERE run_id = ?").get(run.run_id) as {
      count: number;
    }
  ).count;
  // Walks the primary key backwards and stops at the first completed row (no scan of the records).
  const active = database
    .prepare(
      "SELECT round FROM simulation_interactions WHERE run_id = ? AND status = 'complete' ORDER BY round DESC LIMIT 1",
    )
    .get(run.run_id) as { round: number } | undefined;
  const size = typeof config.size === "number" ? config.size : Math.round(Math.sqrt(agents));
  return {
    runId: run.run_id,
    size,
    rounds: typeof config.rounds === "number" ? config.rounds : undefined,
    latestRound: latestCompletedRound(database),
    latestActiveRound: active?.round ?? -1,
    agents,
    status: run.status,
  };
}

/** One interaction in an agent's list. */
export interface AgentInteractionRow {
  round: number;
  question: string;
  status: string;
  alignmentBefore: number | null;
  alignmentAfter: number | null;
}

/** The agent (label, position, model) and its interactions, round by round. */
export function readAgentInteractions({
  database,
  runId,
  agentId,
}: {
  database: Database.Database;
  runId: string;
  agentId: number;
}): { label: string; row: number; col: number; modelId: string; interactions: AgentInteractionRow[] } | undefined {
  const agent = database
    .prepare("SELECT label, grid_row, grid_col, model_id FROM simulation_agents WHERE run_id = ? AND agent_id = ?")
    .get(runId, agentId) as { label: string; grid_row: number; grid_col: number; model_id: string } | undefined;
  if (!agent) return undefined;
  const interactions = database
    .prepare(
      `SELECT round, question, status,
              json_extract(record_json, '$.gen_moral_score_before') AS before,
              json_extract(record_json, '$.gen_moral_score_after') AS after
         FROM simulation_interactions WHERE run_id = ? AND agent_id = ? ORDER BY round`,
    )
    .all(runId, agentId) as { round: number; question: string; status: string; before: unknown; after: unknown }[];
  return {
    label: agent.label,
    row: agent.grid_row,
    col: agent.grid_col,
    modelId: agent.model_id,
    interactions: interactions.map((row) => ({
      round: row.round,
      question: row.question,
      status: row.status,
      alignmentBefore: typeof row.before === "number" ? row.before : null,
      alignmentAfter: typeof row.after === "number" ? row.after : null,
    })),
  };
}

function parseObject(text: string): Record<string, unknown> {
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
