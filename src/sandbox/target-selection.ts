/**
 * Who gives feedback on a draft (SPEC 1.6 step 3). Neighbours are the other agents within Euclidean
 * distance <= size//2 of the centre cell, without wrap-around. Local interaction samples
 * min(targets, #neighbours) of them; global interaction keeps max(1, floor((1-dropout) x #neighbours))
 * neighbours and fills the rest of the quota with non-neighbours.
 *
 * Selection never lists the candidates: at 100x100 an agent has thousands of neighbours and thousands
 * of non-neighbours. It draws positions in the id-ordered candidate lists (the same draws, hence the
 * same choices, as sampling the listed candidates) and maps each drawn position to its agent from the
 * disc's row ranges, so one selection costs O(size + targets) instead of O(size²).
 */

import { createRandom, deriveSeed, type Random, sampleIndicesWithoutReplacement } from "../engine/random.js";
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

/** The neighbours of a cell, in id order (lists them: for tests and small worlds). */
export function neighboursOf(agentId: number, size: number): number[] {
  const disc = discOf(agentId, size);
  return Array.from({ length: disc.neighbourCount }, (_, index) => neighbourAt(disc, index));
}

/**
 * The cells within distance size//2 of a centre, row by row: columns [from, to] of each row from
 * `firstRow` (clipped to the grid, the centre's own cell included in its row's range).
 */
interface Disc {
  size: number;
  row: number;
  col: number;
  firstRow: number;
  from: Int32Array;
  to: Int32Array;
  /** Neighbours (the centre excluded) in all rows. */
  neighbourCount: number;
}

function discOf(agentId: number, size: number): Disc {
  const { row, col } = cellOf(agentId, size);
  const radius = Math.floor(size / 2);
  const firstRow = Math.max(0, row - radius);
  const lastRow = Math.min(size - 1, row + radius);
  const from = new Int32Array(lastRow - firstRow + 1);
  const to = new Int32Array(lastRow - firstRow + 1);
  let neighbourCount = -1; // the centre's own cell is in its row's range
  for (let otherRow = firstRow; otherRow <= lastRow; otherRow += 1) {
    // The widest column offset with offset² + rowOffset² <= radius², in integers (a square root could round).
    const room = radius * radius - (otherRow - row) ** 2;
    let halfWidth = Math.floor(Math.sqrt(room));
    while ((halfWidth + 1) * (halfWidth + 1) <= room) halfWidth += 1;
    while (halfWidth * halfWidth > room) halfWidth -= 1;
    const index = otherRow - firstRow;
    from[index] = Math.max(0, col - halfWidth);
    to[index] = Math.min(size - 1, col + halfWidth);
    neighbourCount += (to[index] as number) - (from[index] as number) + 1;
  }
  return { size, row, col, firstRow, from, to, neighbourCount };
}

/** The `index`-th neighbour in id order. */
function neighbourAt(disc: Disc, index: number): number {
  let remaining = index;
  for (let rowIndex = 0; rowIndex < disc.from.length; rowIndex += 1) {
    const row = disc.firstRow + rowIndex;
    const from = disc.from[rowIndex] as number;
    const width = (disc.to[rowIndex] as number) - from + 1 - (row === disc.row ? 1 : 0);
    if (remaining < width) {
      const col = from + remaining;
      return agentIdAt(row, row === disc.row && col >= disc.col ? col + 1 : col, disc.size);
    }
    remaining -= width;
  }
  throw new RangeError(`neighbour ${index} of ${disc.neighbourCount}`);
}

/** The `index`-th non-neighbour (the centre excluded) in id order. */
function nonNeighbourAt(disc: Disc, index: number): number {
  const { size, firstRow } = disc;
  if (index < firstRow * size) return index;
  let remaining = index - firstRow * size;
  for (let rowIndex = 0; rowIndex < disc.from.length; rowIndex += 1) {
    const from = disc.from[rowIndex] as number;
    const taken = (disc.to[rowIndex] as number) - from + 1;
    if (remaining < size - taken) {
      return agentIdAt(firstRow + rowIndex, remaining < from ? remaining : remaining + taken, size);
    }
    remaining -= size - taken;
  }
  return (firstRow + disc.from.length) * size + remaining;
}

/** How many neighbours a cell has (without listing them). */
export function neighbourCountOf(agentId: number, size: number): number {
  return discOf(agentId, size).neighbourCount;
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
    const neighbourCount = neighbourCountOf(agentId, size);
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
 * The feedback givers of `agentId`'s interaction in `round`: {@link selectTargets} seeded by the run's
 * world seed, the round and the agent, as the simulation and its cost estimate both draw them.
 */
export function roundTargets({
  worldSeed,
  size,
  settings,
  round,
  agentId,
}: {
  worldSeed: number;
  size: number;
  settings: TargetSelectionSettings;
  round: number;
  agentId: number;
}): number[] {
  return selectTargets({
    agentId,
    size,
    settings,
    seed: deriveSeed(worldSeed, "round", round, "agent", agentId, "targets"),
  });
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
  const random: Random = createRandom({ seed, algorithm: "mulberry32" });
  const disc = discOf(agentId, size);
  const draw = (count: number, take: number, itemAt: (disc: Disc, index: number) => number): number[] =>
    sampleIndicesWithoutReplacement({ count, take, random }).map((index) => itemAt(disc, index));
  if (!settings.global) return draw(disc.neighbourCount, settings.targets, neighbourAt);
  const kept = keptNeighbourCount(disc.neighbourCount, settings.dropout);
  const nonNeighbours = size * size - 1 - disc.neighbourCount;
  if (settings.targets <= kept || nonNeighbours < settings.targets - kept) {
    validateTargetSettings(settings, size);
  }
  const chosenNeighbours = draw(disc.neighbourCount, kept, neighbourAt);
  const chosenOthers = draw(nonNeighbours, settings.targets - kept, nonNeighbourAt);
  return [...chosenNeighbours, ...chosenOthers];
}
