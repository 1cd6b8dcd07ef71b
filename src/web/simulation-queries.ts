/**
 * The read-only queries the simulation pages run on a run.sqlite: the run, the grid of one round,
 * one agent's interactions, one interaction's record and per-round statistics. Scores are read from
 * the stored records (`record_json`), so runs of every schema version read the same way.
 */
import type Database from "better-sqlite3";
import type { InteractionRecord } from "../spec/interaction-record.js";
import type { HeatMapCell } from "./charts.js";
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

const SCORE_PATH: Record<RevisionPhase, string> = {
  before: "$.gen_moral_score_before",
  after: "$.gen_moral_score_after",
};

/** Every agent of the grid with its observer alignment score in `round` (`phase` of revision). */
export function readSocietyCells({
  database,
  runId,
  round,
  phase,
}: {
  database: Database.Database;
  runId: string;
  round: number;
  phase: RevisionPhase;
}): HeatMapCell[] {
  const rows = database
    .prepare(
      `SELECT a.agent_id, a.grid_row, a.grid_col, a.label, json_extract(i.record_json, ?) AS score
         FROM simulation_agents a
         LEFT JOIN simulation_interactions i
           ON i.run_id = a.run_id AND i.round = ? AND i.agent_id = a.agent_id AND i.status = 'complete'
        WHERE a.run_id = ?
        ORDER BY a.agent_id`,
    )
    .all(SCORE_PATH[phase], round, runId) as {
    agent_id: number;
    grid_row: number;
    grid_col: number;
    label: string;
    score: number | null;
  }[];
  return rows.map((row) => ({
    agentId: row.agent_id,
    row: row.grid_row,
    col: row.grid_col,
    label: row.label,
    score: typeof row.score === "number" ? row.score : null,
  }));
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

/** One interaction: its record when complete, otherwise the question and status. */
export function readInteractionRecord({
  database,
  runId,
  round,
  agentId,
}: {
  database: Database.Database;
  runId: string;
  round: number;
  agentId: number;
}): { question: string; status: string; record: InteractionRecord | undefined } | undefined {
  const row = database
    .prepare(
      "SELECT question, status, record_json FROM simulation_interactions WHERE run_id = ? AND round = ? AND agent_id = ?",
    )
    .get(runId, round, agentId) as { question: string; status: string; record_json: string | null } | undefined;
  if (!row) return undefined;
  const record = row.record_json === null ? undefined : (JSON.parse(row.record_json) as InteractionRecord);
  return { question: row.question, status: row.status, record };
}

/** Count, mean and standard deviation of one score over a group. */
export interface ScoreMoments {
  count: number;
  mean: number | null;
  standardDeviation: number | null;
}

/** Per round and group (`all`, `good`, `bad`): observer alignment and engagement before and after. */
export interface RoundStatistics {
  round: number;
  group: "all" | "good" | "bad";
  alignmentBefore: ScoreMoments;
  alignmentAfter: ScoreMoments;
  engagementBefore: ScoreMoments;
  engagementAfter: ScoreMoments;
}

const METRICS = {
  alignmentBefore: "gen_moral_score_before",
  alignmentAfter: "gen_moral_score_after",
  engagementBefore: "gen_engagement_score_before",
  engagementAfter: "gen_engagement_score_after",
} as const;

/** Moments of the four observer scores per round, overall and by initial label, in one query. */
export function readRoundStatistics({
  database,
  runId,
}: {
  database: Database.Database;
  runId: string;
}): RoundStatistics[] {
  const columns = Object.entries(METRICS)
    .map(
      ([name, field]) =>
        `COUNT(s.${field}) AS ${name}_n, AVG(s.${field}) AS ${name}_mean, AVG(s.${field} * s.${field}) AS ${name}_square`,
    )
    .join(", ");
  const extracted = Object.values(METRICS)
    .map((field) => `json_extract(i.record_json, '$.${field}') AS ${field}`)
    .join(", ");
  const rows = database
    .prepare(
      `WITH s AS (
         SELECT i.round AS round, a.label AS label, ${extracted}
           FROM simulation_interactions i JOIN simulation_agents a ON a.run_id = i.run_id AND a.agent_id = i.agent_id
          WHERE i.run_id = ? AND i.status = 'complete')
       SELECT round, label AS grp, ${columns} FROM s GROUP BY round, label
       UNION ALL
       SELECT round, 'all' AS grp, ${columns} FROM s GROUP BY round
       ORDER BY round, grp`,
    )
    .all(runId) as Record<string, number | null>[];
  return rows.map((row) => {
    const moments = (name: string): ScoreMoments => {
      const count = Number(row[`${name}_n`] ?? 0);
      const mean = row[`${name}_mean`] ?? null;
      const square = row[`${name}_square`] ?? null;
      const variance =
        mean === null || square === null || count < 2
          ? null
          : Math.max(0, ((square - mean * mean) * count) / (count - 1));
      return { count, mean, standardDeviation: variance === null ? null : Math.sqrt(variance) };
    };
    return {
      round: Number(row.round),
      group: row.grp as unknown as RoundStatistics["group"],
      alignmentBefore: moments("alignmentBefore"),
      alignmentAfter: moments("alignmentAfter"),
      engagementBefore: moments("engagementBefore"),
      engagementAfter: moments("engagementAfter"),
    };
  });
}

function parseObject(text: string): Record<string, unknown> {
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
