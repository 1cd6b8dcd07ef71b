/**
 * Read-only queries of a SANDBOX run for the web app: one interaction in full, the society grid of a
 * round, and per-round score moments. Synchronous (better-sqlite3); each is a handful of primary-key
 * or index lookups. A database below schema version 7 (an older run opened read-only) still answers:
 * scores come from the record JSON, and what it never recorded (retrieved memories, the calls behind
 * an interaction) is `undefined`, meaning "not recorded" rather than "none".
 */
import type Database from "better-sqlite3";
import { type StoredRetrieval, stepKey } from "./simulation-repository.js";

/** The schema version that records call identities, retrievals and score columns (migration 7). */
const PROVENANCE_VERSION = 7;

const hasProvenance = (database: Database.Database): boolean =>
  (database.pragma("user_version", { simple: true }) as number) >= PROVENANCE_VERSION;

/** A draft or a revision. */
export interface AnswerDetail {
  text: string;
  /** The model that wrote it. */
  model: string;
}

/** One rating (observer or peer). Invalid ratings have `score` and `reason` null. */
export interface RatingDetail {
  valid: boolean;
  score: number | null;
  reason: string | null;
  model: string;
}

/** One peer's rating and feedback. */
export interface PeerDetail extends RatingDetail {
  peerId: number;
  /** Whether the revision prompt showed this feedback (valid, and the run was not score-only). */
  shownToAgent: boolean;
}

/** A memory an interaction's agent retrieved: the same shape the simulation stores. */
export type RetrievalDetail = StoredRetrieval;

/** One LM call made (or served from cache) for the interaction. */
export interface CallDetail {
  callIdentity: string;
  /** The Back-Scatter step name, e.g. `observer-alignment-after`. */
  step: string;
  kind: string;
  /** The peer who rated, for peer ratings. */
  targetAgentId: number | undefined;
  model: string;
  promptTokens: number;
  completionTokens: number;
  latencyMs: number;
  costUsd: number;
  cacheHit: boolean;
  /** Retries before the answer; undefined when the meter could not tell. */
  retries: number | undefined;
}

/** Everything the interaction page shows. Steps not yet done (a running interaction) are undefined. */
export interface InteractionDetail {
  runId: string;
  round: number;
  agentId: number;
  label: "good" | "bad";
  row: number;
  col: number;
  status: "running" | "complete";
  question: string;
  draft: AnswerDetail | undefined;
  /** Peers in the order the revision prompt listed them: highest rating first, invalid last. */
  peers: PeerDetail[];
  revision: AnswerDetail | undefined;
  observer: {
    before: { alignment: RatingDetail | undefined; engagement: RatingDetail | undefined };
    after: { alignment: RatingDetail | undefined; engagement: RatingDetail | undefined };
  };
  /** undefined: not recorded (a run older than schema 7, or an interaction completed before it). */
  memories: RetrievalDetail[] | undefined;
  /** undefined: not recorded (older schema, or no usage ledger was kept for this run). */
  calls: CallDetail[] | undefined;
}

interface StepPayload {
  text?: string;
  valid?: boolean;
  rating?: number | null;
  reason?: string | null;
  model?: string;
}

const rating = (payload: StepPayload | undefined): RatingDetail | undefined =>
  payload === undefined
    ? undefined
    : {
        valid: payload.valid === true,
        score: payload.rating ?? null,
        reason: payload.reason ?? null,
        model: payload.model ?? "",
      };
const answer = (payload: StepPayload | undefined): AnswerDetail | undefined =>
  payload === undefined ? undefined : { text: payload.text ?? "", model: payload.model ?? "" };

/** One interaction with its steps, retrievals and calls; undefined when the run has no such interaction. */
export function readInteractionDetail(
  database: Database.Database,
  { runId, round, agentId }: { runId: string; round: number; agentId: number },
): InteractionDetail | undefined {
  const provenance = hasProvenance(database);
  const interaction = database
    .prepare<[string, number, number], Record<string, unknown>>(
      `SELECT i.question, i.status, i.target_ids_json, a.label, a.grid_row, a.grid_col, r.config_json
         ${provenance ? ", i.provenance_recorded" : ""}
       FROM simulation_interactions i
       JOIN simulation_agents a ON a.run_id = i.run_id AND a.agent_id = i.agent_id
       JOIN runs r ON r.run_id = i.run_id
       WHERE i.run_id = ? AND i.round = ? AND i.agent_id = ?`,
    )
    .get(runId, round, agentId);
  if (interaction === undefined) return undefined;
  const steps = new Map<string, StepPayload>();
  for (const row of database
    .prepare<[string, number, number], { step: string; peer_id: number; payload_json: string }>(
      "SELECT step, peer_id, payload_json FROM simulation_steps WHERE run_id = ? AND round = ? AND agent_id = ?",
    )
    .all(runId, round, agentId)) {
    steps.set(stepKey(row.step, row.peer_id), JSON.parse(row.payload_json));
  }
  const config = JSON.parse(interaction.config_json as string) as { backScatter?: { scoreOnly?: boolean } };
  const scoreOnly = config.backScatter?.scoreOnly === true;
  const targets = JSON.parse(interaction.target_ids_json as string) as number[];
  const peers = targets
    .map((peerId, index) => ({ peerId, index, detail: rating(steps.get(`peer-rating:${peerId}`)) }))
    .filter((entry): entry is { peerId: number; index: number; detail: RatingDetail } => entry.detail !== undefined)
    .sort(
      (left, right) =>
        (right.detail.score ?? Number.NEGATIVE_INFINITY) - (left.detail.score ?? Number.NEGATIVE_INFINITY) ||
        left.index - right.index,
    )
    .map(({ peerId, detail }) => ({ peerId, ...detail, shownToAgent: detail.valid && !scoreOnly }));
  return {
    runId,
    round,
    agentId,
    label: interaction.label as "good" | "bad",
    row: interaction.grid_row as number,
    col: interaction.grid_col as number,
    status: interaction.status as "running" | "complete",
    question: interaction.question as string,
    draft: answer(steps.get("draft")),
    peers,
    revision: answer(steps.get("revision")),
    observer: {
      before: {
        alignment: rating(steps.get("observer-alignment-before")),
        engagement: rating(steps.get("observer-engagement-before")),
      },
      after: {
        alignment: rating(steps.get("observer-alignment-after")),
        engagement: rating(steps.get("observer-engagement-after")),
      },
    },
    memories:
      provenance && interaction.provenance_recorded === 1
        ? readRetrievals(database, { runId, round, agentId })
        : undefined,
    calls: provenance ? readCalls(database, { runId, round, agentId }) : undefined,
  };
}

function readRetrievals(
  database: Database.Database,
  { runId, round, agentId }: { runId: string; round: number; agentId: number },
): RetrievalDetail[] {
  return database
    .prepare<[string, number, number], Record<string, number | string>>(
      `SELECT retriever_id, rank, question, answer, similarity, source_round FROM simulation_retrievals
       WHERE run_id = ? AND round = ? AND agent_id = ?
       ORDER BY retriever_id <> agent_id, retriever_id, rank`,
    )
    .all(runId, round, agentId)
    .map((row) => ({
      retrieverId: row.retriever_id as number,
      rank: row.rank as number,
      question: row.question as string,
      answer: row.answer as string,
      similarity: row.similarity as number,
      sourceRound: row.source_round as number,
    }));
}

function readCalls(
  database: Database.Database,
  { runId, round, agentId }: { runId: string; round: number; agentId: number },
): CallDetail[] | undefined {
  const rows = database
    .prepare<[string, number, number], Record<string, number | string | null>>(
      `SELECT call_identity, step, step_kind, target_agent_id, model_id, prompt_tokens, completion_tokens,
              latency_ms, cost_usd, cached, retries
       FROM lm_usage WHERE run_id = ? AND round = ? AND agent_id = ? ORDER BY id`,
    )
    .all(runId, round, agentId);
  if (rows.length === 0) return undefined;
  return rows.map((row) => ({
    callIdentity: row.call_identity as string,
    step: row.step as string,
    kind: row.step_kind as string,
    targetAgentId: (row.target_agent_id as number | null) ?? undefined,
    model: row.model_id as string,
    promptTokens: row.prompt_tokens as number,
    completionTokens: row.completion_tokens as number,
    latencyMs: row.latency_ms as number,
    costUsd: row.cost_usd as number,
    cacheHit: row.cached === 1,
    retries: (row.retries as number | null) ?? undefined,
  }));
}

/** One agent on the society grid. */
export interface SocietyCell {
  agentId: number;
  row: number;
  col: number;
  label: "good" | "bad";
  /** The observer's alignment score of the draft (`before`) or revision (`after`); null if invalid or not yet rated. */
  alignment: number | null;
}

/** The SQL of a score: its column from schema 7 on, else the record field (`provenance` false). */
const scoreColumn = ({ provenance, column, field }: { provenance: boolean; column: string; field: string }): string =>
  provenance ? column : `json_extract(record_json, '$.${field}')`;

/** Every agent of the run with its observer alignment score in `round`, in agent order. */
export function readSocietyGrid(
  database: Database.Database,
  { runId, round, phase }: { runId: string; round: number; phase: "before" | "after" },
): SocietyCell[] {
  const provenance = hasProvenance(database);
  const score =
    phase === "before"
      ? scoreColumn({ provenance, column: "i.alignment_before", field: "gen_moral_score_before" })
      : scoreColumn({ provenance, column: "i.alignment_after", field: "gen_moral_score_after" });
  return database
    .prepare<
      [number, string],
      { agent_id: number; grid_row: number; grid_col: number; label: string; score: number | null }
    >(
      `SELECT a.agent_id, a.grid_row, a.grid_col, a.label, ${score} AS score
       FROM simulation_agents a
       LEFT JOIN simulation_interactions i ${provenance ? "INDEXED BY simulation_interaction_scores" : ""}
         ON i.run_id = a.run_id AND i.round = ? AND i.agent_id = a.agent_id
       WHERE a.run_id = ? ORDER BY a.agent_id`,
    )
    .all(round, runId)
    .map((row) => ({
      agentId: row.agent_id,
      row: row.grid_row,
      col: row.grid_col,
      label: row.label as "good" | "bad",
      alignment: row.score ?? null,
    }));
}

/** Count, sum and sum of squares of one score over the valid ratings of a group. */
export interface ScoreMoments {
  count: number;
  sum: number;
  sumOfSquares: number;
}

/** Score moments of the completed interactions of one round and initial label. */
export interface RoundLabelMoments {
  round: number;
  label: "good" | "bad";
  interactions: number;
  alignmentBefore: ScoreMoments;
  alignmentAfter: ScoreMoments;
  engagementBefore: ScoreMoments;
  engagementAfter: ScoreMoments;
}

const SCORES = [
  ["alignmentBefore", "alignment_before", "gen_moral_score_before"],
  ["alignmentAfter", "alignment_after", "gen_moral_score_after"],
  ["engagementBefore", "engagement_before", "gen_engagement_score_before"],
  ["engagementAfter", "engagement_after", "gen_engagement_score_after"],
] as const;

/** Per round and initial label: moments of the four observer scores over completed interactions. */
export function readRoundScoreMoments(database: Database.Database, { runId }: { runId: string }): RoundLabelMoments[] {
  const provenance = hasProvenance(database);
  const columns = SCORES.map(([name, column, field]) => {
    const value = scoreColumn({ provenance, column: `i.${column}`, field });
    return `COUNT(${value}) AS ${name}_n, TOTAL(${value}) AS ${name}_s, TOTAL(${value} * ${value}) AS ${name}_q`;
  }).join(", ");
  return database
    .prepare<[string], Record<string, number | string>>(
      `SELECT i.round, a.label, COUNT(*) AS interactions, ${columns}
       FROM simulation_interactions i ${provenance ? "INDEXED BY simulation_interaction_scores" : ""}
       JOIN simulation_agents a ON a.run_id = i.run_id AND a.agent_id = i.agent_id
       WHERE i.run_id = ? AND i.status = 'complete'
       GROUP BY i.round, a.label ORDER BY i.round, a.label`,
    )
    .all(runId)
    .map((row) => {
      const moments = (name: string): ScoreMoments => ({
        count: row[`${name}_n`] as number,
        sum: row[`${name}_s`] as number,
        sumOfSquares: row[`${name}_q`] as number,
      });
      return {
        round: row.round as number,
        label: row.label as "good" | "bad",
        interactions: row.interactions as number,
        alignmentBefore: moments("alignmentBefore"),
        alignmentAfter: moments("alignmentAfter"),
        engagementBefore: moments("engagementBefore"),
        engagementAfter: moments("engagementAfter"),
      };
    });
}
