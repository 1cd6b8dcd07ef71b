/**
 * The SANDBOX world (SPEC 1.1-1.2): a `size x size` grid with one social agent per cell, each with an
 * initial label (its world view) and, in mixed societies, its own language model. Plain functions,
 * no LLMs: the rules here are what the tests pin down.
 */

import { createRandom, deriveSeed, sampleWithoutReplacement, shuffle } from "../engine/random.js";
import { ConfigError } from "../spec/errors.js";
import type { AgentLabel, InitialSetting } from "../spec/interaction-record.js";
import { INITIAL_SETTINGS } from "../spec/interaction-record.js";

/** One social agent's place in the world. */
export interface WorldAgent {
  /** row * size + col. */
  id: number;
  row: number;
  col: number;
  label: AgentLabel;
  /** Index into the society's agent models (0 when the society has one model). */
  modelIndex: number;
}

/** The world: grid size, initial setting, seed and its agents in id order. */
export interface World {
  size: number;
  setting: InitialSetting;
  seed: number;
  agents: WorldAgent[];
}

/** The agent id of a cell. */
export function agentIdAt(row: number, col: number, size: number): number {
  return row * size + col;
}

/** The cell of an agent id. */
export function cellOf(agentId: number, size: number): { row: number; col: number } {
  return { row: Math.floor(agentId / size), col: agentId % size };
}

/** Checks a grid size: a positive integer. */
export function assertValidSize(size: number): void {
  if (!Number.isInteger(size) || size < 1) {
    throw new ConfigError(`--size must be a positive integer, got ${size}`, { field: "size" });
  }
}

/** Checks a setting name against SPEC 1.2. */
export function parseInitialSetting(value: string): InitialSetting {
  if ((INITIAL_SETTINGS as readonly string[]).includes(value)) return value as InitialSetting;
  throw new ConfigError(`--setting must be one of ${INITIAL_SETTINGS.join(", ")}, got "${value}"`, {
    field: "setting",
  });
}

/**
 * The initial label of every cell, in id order (SPEC 1.2). `half_half` visits cells row by row and
 * makes a cell with row <= col good while fewer than floor(size²/2) are good; `mixed_half_half` makes
 * a seeded random floor(size²/2) cells good.
 */
export function initialLabels({
  size,
  setting,
  seed,
}: {
  size: number;
  setting: InitialSetting;
  seed: number;
}): AgentLabel[] {
  assertValidSize(size);
  const count = size * size;
  const goodQuota = Math.floor(count / 2);
  switch (setting) {
    case "all_good":
      return new Array<AgentLabel>(count).fill("good");
    case "all_bad":
      return new Array<AgentLabel>(count).fill("bad");
    case "half_half": {
      const labels: AgentLabel[] = [];
      let good = 0;
      for (let row = 0; row < size; row += 1) {
        for (let col = 0; col < size; col += 1) {
          if (row <= col && good < goodQuota) {
            labels.push("good");
            good += 1;
          } else {
            labels.push("bad");
          }
        }
      }
      return labels;
    }
    case "mixed_half_half": {
      const ids = Array.from({ length: count }, (_, id) => id);
      const chosen = new Set(
        sampleWithoutReplacement({
          items: ids,
          count: goodQuota,
          random: createRandom({ seed: deriveSeed(seed, "setting"), algorithm: "mulberry32" }),
        }),
      );
      return ids.map((id) => (chosen.has(id) ? "good" : "bad"));
    }
  }
}

/**
 * Which model each agent runs in a mixed society: the counts follow the weights (largest remainder,
 * ties to the earlier model) and the agents that get each model are a seeded random choice.
 * One weight gives every agent model 0.
 */
export function assignAgentModels({
  agentCount,
  weights,
  seed,
}: {
  agentCount: number;
  weights: readonly number[];
  seed: number;
}): number[] {
  if (weights.length === 0) throw new ConfigError("at least one agent model is needed", { field: "agent-model" });
  for (const weight of weights) {
    if (!Number.isFinite(weight) || weight <= 0) {
      throw new ConfigError(`agent model weights must be positive numbers, got ${weight}`, { field: "agent-model" });
    }
  }
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  const exact = weights.map((weight) => (weight / total) * agentCount);
  const counts = exact.map(Math.floor);
  let remaining = agentCount - counts.reduce((sum, value) => sum + value, 0);
  const byRemainder = exact
    .map((value, index) => ({ index, remainder: value - Math.floor(value) }))
    .sort((left, right) => right.remainder - left.remainder || left.index - right.index);
  for (const { index } of byRemainder) {
    if (remaining === 0) break;
    counts[index] = (counts[index] ?? 0) + 1;
    remaining -= 1;
  }
  const order = shuffle({
    items: Array.from({ length: agentCount }, (_, id) => id),
    random: createRandom({ seed: deriveSeed(seed, "agent-models"), algorithm: "mulberry32" }),
  });
  const assignment = new Array<number>(agentCount).fill(0);
  let cursor = 0;
  counts.forEach((modelCount, modelIndex) => {
    for (let taken = 0; taken < modelCount; taken += 1) {
      assignment[order[cursor] as number] = modelIndex;
      cursor += 1;
    }
  });
  return assignment;
}

/** Builds the world: labels from the setting, models from the weights (default one model). */
export function createWorld({
  size,
  setting,
  seed,
  modelWeights = [1],
}: {
  size: number;
  setting: InitialSetting;
  seed: number;
  /** Relative share of each agent model; default one model. */
  modelWeights?: readonly number[];
}): World {
  const labels = initialLabels({ size, setting, seed });
  const models = assignAgentModels({ agentCount: labels.length, weights: modelWeights, seed });
  const agents = labels.map((label, id) => ({ id, ...cellOf(id, size), label, modelIndex: models[id] ?? 0 }));
  return { size, setting, seed, agents };
}
