/**
 * Who gives feedback on a draft (SPEC 1.6 step 3). Neighbours are the other agents within Euclidean
 * distance <= size//2 of the centre cell, without wrap-around. Local interaction samples
 * min(targets, #neighbours) of them; global interaction keeps max(1, floor((1-dropout) x #neighbours))
 * neighbours and fills the rest of the quota with non-neighbours.
 */

import { createRandom, sampleWithoutReplacement } from "../engine/random.js";
import { ConfigError } from "../spec/errors.js";
import { agentIdAt, cellOf } from "./world.js";

/** How feedback givers are chosen. */
export interface TargetSelectionSettings {
  /** Feedback givers per interaction (the quota). Reference default 4. */
  targets: number;
  /** Global ("social media") interaction: mix non-neighbours in. Default false. */
  global: boolean;
  /** Share of neighbours dropped under global interaction, in [0, 1]. Reference default 0.5. */
  dropout: number;
}

/** The neighbours of a cell, in id order. */
export function neighboursOf(agentId: number, size: number): number[] {
  const { row, col } = cellOf(agentId, size);
  const radius = Math.floor(size / 2);
  const neighbours: number[] = [];
  for (let otherRow = Math.max(0, row - radius); otherRow <= Math.min(size - 1, row + radius); otherRow += 1) {
    for (let otherCol = Math.max(0, col - radius); otherCol <= Math.min(size - 1, col + radius); otherCol += 1) {
      if (otherRow === row && otherCol === col) continue;
      const squared = (otherRow - row) ** 2 + (otherCol - col) ** 2;
      // Squared integers compare exactly, where a square root could round.
      if (squared <= radius * radius) neighbours.push(agentIdAt(otherRow, otherCol, size));
    }
  }
  return neighbours;
}

/** How many neighbours global interaction keeps: max(1, floor((1 - dropout) x #neighbours)). */
export function keptNeighbourCount(neighbourCount: number, dropout: number): number {
  return Math.max(1, Math.floor((1 - dropout) * neighbourCount));
}

/**
 * Checks the settings for every cell of the world before anything runs; throws a ConfigError that
 * names the parameter to change. Local interaction never fails on the neighbour count.
 */
export function validateTargetSettings(settings: TargetSelectionSettings, size: number): void {
  const { targets, dropout } = settings;
  if (!Number.isInteger(targets) || targets < 1) {
    throw new ConfigError(`--targets must be a positive integer, got ${targets}`, { field: "targets" });
  }
  if (!Number.isFinite(dropout) || dropout < 0 || dropout > 1) {
    throw new ConfigError(`--dropout must be between 0 and 1, got ${dropout}`, { field: "dropout" });
  }
  if (!settings.global) return;
  const agentCount = size * size;
  for (let agentId = 0; agentId < agentCount; agentId += 1) {
    const neighbourCount = neighboursOf(agentId, size).length;
    const kept = keptNeighbourCount(neighbourCount, dropout);
    if (targets <= kept) {
      throw new ConfigError(
        `global interaction: --targets ${targets} must exceed the ${kept} neighbours kept at agent ${agentId} ` +
          `(max(1, floor((1 - ${dropout}) x ${neighbourCount}))); raise --targets or raise --dropout`,
        { field: "targets" },
      );
    }
    const nonNeighbours = agentCount - 1 - neighbourCount;
    if (nonNeighbours < targets - kept) {
      throw new ConfigError(
        `global interaction: agent ${agentId} needs ${targets - kept} non-neighbours but only ${nonNeighbours} exist; ` +
          `lower --targets, lower --dropout or raise --size`,
        { field: "targets" },
      );
    }
  }
}

/**
 * The feedback givers of one interaction, drawn with a generator seeded by `seed` (derive it from the
 * run seed, round and agent). Kept neighbours come first, then non-neighbours, each in draw order.
 * Call `validateTargetSettings` first: this throws on settings it cannot meet.
 */
export function selectTargets({
  agentId,
  size,
  settings,
  seed,
}: {
  agentId: number;
  size: number;
  settings: TargetSelectionSettings;
  seed: number;
}): number[] {
  const random = createRandom({ seed, algorithm: "mulberry32" });
  const neighbours = neighboursOf(agentId, size);
  if (!settings.global) return sampleWithoutReplacement({ items: neighbours, count: settings.targets, random });
  const kept = keptNeighbourCount(neighbours.length, settings.dropout);
  const neighbourSet = new Set(neighbours);
  const others: number[] = [];
  for (let other = 0; other < size * size; other += 1) {
    if (other !== agentId && !neighbourSet.has(other)) others.push(other);
  }
  if (settings.targets <= kept || others.length < settings.targets - kept) {
    validateTargetSettings(settings, size);
  }
  const chosenNeighbours = sampleWithoutReplacement({ items: neighbours, count: kept, random });
  const chosenOthers = sampleWithoutReplacement({ items: others, count: settings.targets - kept, random });
  return [...chosenNeighbours, ...chosenOthers];
}
