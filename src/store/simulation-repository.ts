/**
 * Reads and writes a simulation's tables (see simulation-schema.ts). Synchronous (better-sqlite3): each
 * write is one statement or one transaction, committed before the call returns, so whatever a caller
 * has been told is saved survives a killed process.
 */
import { createHash } from "node:crypto";
import type Database from "better-sqlite3";
import { StableAlignmentError } from "../spec/errors.js";
import { fromBlob, toBlob } from "./embedding-blob.js";

/** One agent of a stored run. */
export interface StoredAgent {
  agentId: number;
  row: number;
  col: number;
  label: "good" | "bad";
  modelId: string;
}

/** One stored memory. `round` -1 is the prior. */
export interface StoredMemory {
  agentId: number;
  question: string;
  answer: string;
  round: number;
}

/** One interaction of a round with the steps completed so far. */
export interface StoredInteraction {
  round: number;
  agentId: number;
  question: string;
  targetIds: number[];
  status: "running" | "complete";
  startedAt: number;
  completedAt: number | undefined;
  /** The finished record (JSON value) once complete. */
  record: unknown;
  /** Completed steps: key `step` or `step:peerId`, value the stored payload. */
  steps: Map<string, unknown>;
}

/** One completed Back-Scatter step; `peerId` only for peer ratings. */
export interface StepInput {
  runId: string;
  round: number;
  agentId: number;
  step: string;
  peerId?: number;
  payload: unknown;
}

/** A memory an agent of an interaction retrieved (see simulation_retrievals). */
export interface StoredRetrieval {
  /** The agent that retrieved it: the centre agent (draft) or a peer (rating). */
  retrieverId: number;
  /** 1 for the nearest. */
  rank: number;
  question: string;
  answer: string;
  /** Cosine similarity (1 - cosine distance) of the stored question to the interaction's. */
  similarity: number;
  /** The round that stored the memory; -1 for the prior. */
  sourceRound: number;
}

/** A completed round. */
export interface StoredRound {
  round: number;
  summary: unknown;
  recordsBytes: number;
}

/** The repository. */
export interface SimulationRepository {
  /** The stored config and status of a run, or undefined. */
  findRun(runId: string): { config: unknown; status: string } | undefined;
  /** Ids of every simulation run in this database. */
  listRunIds(): string[];
  /** Creates a run with its agents and prior memories in one transaction. */
  createRun(input: {
    runId: string;
    config: unknown;
    agents: readonly StoredAgent[];
    memories: readonly StoredMemory[];
  }): void;
  setRunStatus(runId: string, status: "running" | "finished" | "failed" | "stopped"): void;
  loadAgents(runId: string): StoredAgent[];
  /** Every memory of the run, ordered by agent, round and insertion. */
  loadMemories(runId: string): StoredMemory[];
  /** Starts an interaction unless it exists (then keeps the stored one). */
  beginInteraction(input: {
    runId: string;
    round: number;
    agentId: number;
    question: string;
    targetIds: number[];
    startedAt: number;
  }): void;
  /** Persists one completed step; a step saved twice keeps the first payload. */
  saveStep(input: StepInput): void;
  /** Interactions of a round, with their steps. */
  loadRoundInteractions(runId: string, round: number): StoredInteraction[];
  /**
   * Completes an interaction in one transaction: the record (with its observer scores as columns),
   * the memories its agents retrieved, the centre agent's new memory (unless it already holds the
   * question) and an `interaction-complete` event.
   */
  completeInteraction(input: {
    runId: string;
    round: number;
    agentId: number;
    record: unknown;
    completedAt: number;
    memory: StoredMemory | undefined;
    /** Memories retrieved during the interaction. Default: none. */
    retrievals?: readonly StoredRetrieval[];
  }): void;
  completeRound(input: { runId: string; round: number; summary: unknown; recordsBytes: number }): void;
  loadRounds(runId: string): StoredRound[];
  /** The stored record of a complete interaction as JSON text (its `records.jsonl` line), else undefined. */
  loadRecordText(runId: string, round: number, agentId: number): string | undefined;
  /** Completed records of the run in (round, agent) order, from `fromRound` on. */
  loadRecords(runId: string, fromRound?: number): unknown[];
  /** The completed records of a run, one at a time (parsed JSON), in (round, agent) order. */
  iterateRecords(runId: string): IterableIterator<unknown>;
  appendEvent(input: { runId: string; kind: string; round?: number; agentId?: number; payload?: unknown }): void;
  /**
   * Runs `work` in one IMMEDIATE transaction: no other connection, in this process or another, writes
   * until it returns (readers go on); rolled back when it throws. `work` must be synchronous. The lock
   * dies with a killed process.
   */
  exclusive<T>(work: () => T): T;
  /** Stored embeddings of `texts` by `modelId` (missing ones absent from the map). */
  findEmbeddings(modelId: string, texts: readonly string[]): Map<string, Float32Array>;
  saveEmbeddings(modelId: string, entries: readonly { text: string; vector: Float32Array }[]): void;
}

const textHash = (text: string): string => createHash("sha256").update(text).digest("hex");
/** A step's key in an interaction's steps: the step name, and `:<peer>` for a peer's rating (peer_id >= 0). */
export const stepKey = (step: string, peerId: number): string => (peerId < 0 ? step : `${step}:${peerId}`);

/** Creates the repository on a database that has the simulation migration applied. */
export function createSimulationRepository(database: Database.Database): SimulationRepository {
  const hasTable = database
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'simulation_interactions'")
    .get();
  if (hasTable === undefined) {
    throw new StableAlignmentError(
      "STORE_SCHEMA_MISSING",
      "the database has no simulation tables (migration 2 missing)",
    );
  }
  const statements = {
    findRun: database.prepare<[string], { config_json: string; status: string }>(
      "SELECT config_json, status FROM runs WHERE run_id = ? AND kind = 'simulation'",
    ),
    listRuns: database.prepare<[], { run_id: string }>(
      "SELECT run_id FROM runs WHERE kind = 'simulation' ORDER BY created_at",
    ),
    insertRun: database.prepare(
      "INSERT INTO runs (run_id, kind, config_json, status, created_at, updated_at) VALUES (?, 'simulation', ?, 'running', ?, ?)",
    ),
    setStatus: database.prepare("UPDATE runs SET status = ?, updated_at = ? WHERE run_id = ?"),
    insertAgent: database.prepare(
      "INSERT INTO simulation_agents (run_id, agent_id, grid_row, grid_col, label, model_id) VALUES (?, ?, ?, ?, ?, ?)",
    ),
    insertMemory: database.prepare(
      `INSERT OR IGNORE INTO simulation_memories (run_id, agent_id, question, answer, round, position)
       VALUES (?, ?, ?, ?, ?, (SELECT COUNT(*) FROM simulation_memories WHERE run_id = ? AND agent_id = ?))`,
    ),
    insertMemoryAt: database.prepare(
      "INSERT INTO simulation_memories (run_id, agent_id, question, answer, round, position) VALUES (?, ?, ?, ?, ?, ?)",
    ),
    loadAgents: database.prepare<
      [string],
      { agent_id: number; grid_row: number; grid_col: number; label: "good" | "bad"; model_id: string }
    >("SELECT agent_id, grid_row, grid_col, label, model_id FROM simulation_agents WHERE run_id = ? ORDER BY agent_id"),
    loadMemories: database.prepare<[string], { agent_id: number; question: string; answer: string; round: number }>(
      "SELECT agent_id, question, answer, round FROM simulation_memories WHERE run_id = ? ORDER BY agent_id, position",
    ),
    beginInteraction: database.prepare(
      `INSERT OR IGNORE INTO simulation_interactions (run_id, round, agent_id, question, target_ids_json, status, started_at)
       VALUES (?, ?, ?, ?, ?, 'running', ?)`,
    ),
    saveStep: database.prepare(
      `INSERT OR IGNORE INTO simulation_steps (run_id, round, agent_id, step, peer_id, payload_json, completed_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    loadInteractions: database.prepare<
      [string, number],
      {
        agent_id: number;
        question: string;
        target_ids_json: string;
        status: "running" | "complete";
        started_at: number;
        completed_at: number | null;
        record_json: string | null;
      }
    >(
      `SELECT agent_id, question, target_ids_json, status, started_at, completed_at, record_json
       FROM simulation_interactions WHERE run_id = ? AND round = ? ORDER BY agent_id`,
    ),
    loadSteps: database.prepare<
      [string, number],
      { agent_id: number; step: string; peer_id: number; payload_json: string }
    >("SELECT agent_id, step, peer_id, payload_json FROM simulation_steps WHERE run_id = ? AND round = ?"),
    completeInteraction: database.prepare(
      `UPDATE simulation_interactions SET status = 'complete', completed_at = ?, record_json = ?,
         alignment_before = ?, alignment_after = ?, engagement_before = ?, engagement_after = ?,
         provenance_recorded = 1
       WHERE run_id = ? AND round = ? AND agent_id = ? AND status = 'running'`,
    ),
    insertRetrieval: database.prepare(
      `INSERT OR IGNORE INTO simulation_retrievals
         (run_id, round, agent_id, retriever_id, rank, question, answer, similarity, source_round)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    completeRound: database.prepare(
      "INSERT OR REPLACE INTO simulation_rounds (run_id, round, summary_json, records_bytes, completed_at) VALUES (?, ?, ?, ?, ?)",
    ),
    loadRounds: database.prepare<[string], { round: number; summary_json: string; records_bytes: number }>(
      "SELECT round, summary_json, records_bytes FROM simulation_rounds WHERE run_id = ? ORDER BY round",
    ),
    loadRecordText: database.prepare<[string, number, number], { record_json: string }>(
      `SELECT record_json FROM simulation_interactions
       WHERE run_id = ? AND round = ? AND agent_id = ? AND status = 'complete'`,
    ),
    loadRecords: database.prepare<[string, number], { record_json: string }>(
      `SELECT record_json FROM simulation_interactions
       WHERE run_id = ? AND round >= ? AND status = 'complete' ORDER BY round, agent_id`,
    ),
    appendEvent: database.prepare(
      "INSERT INTO simulation_events (run_id, kind, round, agent_id, payload_json, created_at) VALUES (?, ?, ?, ?, ?, ?)",
    ),
    findEmbedding: database.prepare<[string, string], { vector: Buffer }>(
      "SELECT vector FROM simulation_embeddings WHERE model_id = ? AND text_sha256 = ?",
    ),
    saveEmbedding: database.prepare(
      "INSERT OR IGNORE INTO simulation_embeddings (model_id, text_sha256, vector) VALUES (?, ?, ?)",
    ),
  };

  const insertMemory = (runId: string, memory: StoredMemory): void => {
    statements.insertMemory.run(
      runId,
      memory.agentId,
      memory.question,
      memory.answer,
      memory.round,
      runId,
      memory.agentId,
    );
  };
  const saveStep = ({ runId, round, agentId, step, peerId = -1, payload }: StepInput): void => {
    statements.saveStep.run(runId, round, agentId, step, peerId, JSON.stringify(payload), Date.now());
  };
  const appendEvent: SimulationRepository["appendEvent"] = ({ runId, kind, round, agentId, payload }) => {
    statements.appendEvent.run(
      runId,
      kind,
      round ?? null,
      agentId ?? null,
      payload === undefined ? null : JSON.stringify(payload),
      Date.now(),
    );
  };

  return {
    findRun(runId) {
      const row = statements.findRun.get(runId);
      return row === undefined ? undefined : { config: JSON.parse(row.config_json), status: row.status };
    },
    listRunIds() {
      return statements.listRuns.all().map((row) => row.run_id);
    },
    createRun: database.transaction(({ runId, config, agents, memories }) => {
      const now = Date.now();
      statements.insertRun.run(runId, JSON.stringify(config), now, now);
      for (const agent of agents) {
        statements.insertAgent.run(runId, agent.agentId, agent.row, agent.col, agent.label, agent.modelId);
      }
      // A new run holds no memories yet: positions count from 0 per agent, and a repeated question keeps
      // its first answer (as the primary key and insertMemory's OR IGNORE do) without a COUNT per row.
      const questionsByAgent = new Map<number, Set<string>>();
      for (const memory of memories) {
        let questions = questionsByAgent.get(memory.agentId);
        if (questions === undefined) {
          questions = new Set();
          questionsByAgent.set(memory.agentId, questions);
        }
        if (questions.has(memory.question)) continue;
        const position = questions.size;
        questions.add(memory.question);
        statements.insertMemoryAt.run(runId, memory.agentId, memory.question, memory.answer, memory.round, position);
      }
      appendEvent({ runId, kind: "run-create" });
    }),
    setRunStatus(runId, status) {
      statements.setStatus.run(status, Date.now(), runId);
    },
    loadAgents(runId) {
      return statements.loadAgents.all(runId).map((row) => ({
        agentId: row.agent_id,
        row: row.grid_row,
        col: row.grid_col,
        label: row.label,
        modelId: row.model_id,
      }));
    },
    loadMemories(runId) {
      return statements.loadMemories.all(runId).map((row) => ({
        agentId: row.agent_id,
        question: row.question,
        answer: row.answer,
        round: row.round,
      }));
    },
    beginInteraction({ runId, round, agentId, question, targetIds, startedAt }) {
      statements.beginInteraction.run(runId, round, agentId, question, JSON.stringify(targetIds), startedAt);
    },
    saveStep,
    loadRoundInteractions(runId, round) {
      const steps = new Map<number, Map<string, unknown>>();
      for (const row of statements.loadSteps.all(runId, round)) {
        let map = steps.get(row.agent_id);
        if (map === undefined) {
          map = new Map();
          steps.set(row.agent_id, map);
        }
        map.set(stepKey(row.step, row.peer_id), JSON.parse(row.payload_json));
      }
      return statements.loadInteractions.all(runId, round).map((row) => ({
        round,
        agentId: row.agent_id,
        question: row.question,
        targetIds: JSON.parse(row.target_ids_json) as number[],
        status: row.status,
        startedAt: row.started_at,
        completedAt: row.completed_at ?? undefined,
        record: row.record_json === null ? undefined : JSON.parse(row.record_json),
        steps: steps.get(row.agent_id) ?? new Map(),
      }));
    },
    completeInteraction: database.transaction(
      ({ runId, round, agentId, record, completedAt, memory, retrievals = [] }) => {
        const scores = (typeof record === "object" && record !== null ? record : {}) as Record<string, unknown>;
        const score = (field: string): number | null => {
          const value = scores[field];
          return typeof value === "number" ? value : null;
        };
        const changed = statements.completeInteraction.run(
          completedAt,
          JSON.stringify(record),
          score("gen_moral_score_before"),
          score("gen_moral_score_after"),
          score("gen_engagement_score_before"),
          score("gen_engagement_score_after"),
          runId,
          round,
          agentId,
        );
        if (changed.changes === 0) return;
        for (const retrieval of retrievals) {
          statements.insertRetrieval.run(
            runId,
            round,
            agentId,
            retrieval.retrieverId,
            retrieval.rank,
            retrieval.question,
            retrieval.answer,
            retrieval.similarity,
            retrieval.sourceRound,
          );
        }
        if (memory !== undefined) insertMemory(runId, memory);
        appendEvent({ runId, kind: "interaction-complete", round, agentId });
      },
    ),
    completeRound({ runId, round, summary, recordsBytes }) {
      database.transaction(() => {
        statements.completeRound.run(runId, round, JSON.stringify(summary), recordsBytes, Date.now());
        appendEvent({ runId, kind: "round-end", round, payload: summary });
      })();
    },
    loadRecordText(runId, round, agentId) {
      return statements.loadRecordText.get(runId, round, agentId)?.record_json;
    },
    loadRounds(runId) {
      return statements.loadRounds.all(runId).map((row) => ({
        round: row.round,
        summary: JSON.parse(row.summary_json),
        recordsBytes: row.records_bytes,
      }));
    },
    *iterateRecords(runId) {
      for (const row of statements.loadRecords.iterate(runId, 0)) yield JSON.parse(row.record_json);
    },
    loadRecords(runId, fromRound = 0) {
      return statements.loadRecords.all(runId, fromRound).map((row) => JSON.parse(row.record_json));
    },
    appendEvent,
    exclusive<T>(work: () => T): T {
      return database.transaction(work).immediate();
    },
    findEmbeddings(modelId, texts) {
      const found = new Map<string, Float32Array>();
      for (const text of texts) {
        const row = statements.findEmbedding.get(modelId, textHash(text));
        if (row !== undefined) found.set(text, fromBlob(row.vector));
      }
      return found;
    },
    saveEmbeddings: database.transaction(
      (modelId: string, entries: readonly { text: string; vector: Float32Array }[]) => {
        for (const { text, vector } of entries) statements.saveEmbedding.run(modelId, textHash(text), toBlob(vector));
      },
    ),
  };
}
