import { describe, expect, it } from "vitest";
import { createRandom, deriveSeed, sampleWithoutReplacement } from "../engine/random.js";
import { ConfigError } from "../spec/errors.js";
import {
  keptNeighbourCount,
  neighbourCountOf,
  neighboursOf,
  selectTargets,
  type TargetSelectionSettings,
  validateTargetSettings,
} from "./target-selection.js";

describe("neighbours (SPEC 1.6 step 3)", () => {
  it("are the other cells within Euclidean distance <= size//2, without wrap-around", () => {
    // 4x4, radius 2, corner 0: (0,1) (0,2) (1,0) (1,1) (2,0); (1,2) is at sqrt(5) > 2.
    expect(neighboursOf(0, 4)).toEqual([1, 2, 4, 5, 8]);
    // 3x3, radius 1: the centre has the 4 edge-adjacent cells, no diagonals (sqrt 2 > 1).
    expect(neighboursOf(4, 3)).toEqual([1, 3, 5, 7]);
    expect(neighboursOf(0, 3)).toEqual([1, 3]);
    expect(neighboursOf(0, 1)).toEqual([]);
  });

  it("include diagonals when they fit: 5x5 centre has 12 neighbours", () => {
    expect(neighboursOf(12, 5)).toHaveLength(12);
    expect(neighboursOf(12, 5)).toContain(6);
    expect(neighboursOf(12, 5)).not.toContain(12);
  });
});

describe("local selection", () => {
  it("takes min(targets, #neighbours) distinct neighbours, seeded", () => {
    const settings = { targets: 4, global: false, dropout: 0.5 };
    const picked = selectTargets({ agentId: 0, size: 4, settings, seed: 9 });
    expect(picked).toHaveLength(4);
    expect(new Set(picked).size).toBe(4);
    for (const id of picked) expect(neighboursOf(0, 4)).toContain(id);
    expect(selectTargets({ agentId: 0, size: 4, settings, seed: 9 })).toEqual(picked);
    // Corner of 3x3 has 2 neighbours: never an error, just fewer givers.
    expect(selectTargets({ agentId: 0, size: 3, settings, seed: 1 }).sort()).toEqual([1, 3]);
    expect(() => validateTargetSettings({ targets: 10, global: false, dropout: 0.5 }, 3)).not.toThrow();
  });
});

describe("global selection", () => {
  it("keeps max(1, floor((1-dropout) x #neighbours)) neighbours and fills the quota with non-neighbours", () => {
    expect(keptNeighbourCount(4, 0.5)).toBe(2);
    expect(keptNeighbourCount(2, 0.9)).toBe(1);
    const settings = { targets: 5, global: true, dropout: 0.75 };
    validateTargetSettings(settings, 5);
    // 5x5 centre: 12 neighbours, keeps floor(0.25 x 12) = 3 of them, then 2 non-neighbours.
    const picked = selectTargets({ agentId: 12, size: 5, settings, seed: 4 });
    const neighbours = new Set(neighboursOf(12, 5));
    expect(picked).toHaveLength(5);
    expect(new Set(picked).size).toBe(5);
    expect(picked.slice(0, 3).every((id) => neighbours.has(id))).toBe(true);
    expect(picked.slice(3).every((id) => !neighbours.has(id) && id !== 12)).toBe(true);
    expect(selectTargets({ agentId: 12, size: 5, settings, seed: 4 })).toEqual(picked);
    // Corner: 5 neighbours keep max(1, floor(1.25)) = 1, then 4 non-neighbours.
    const corner = selectTargets({ agentId: 0, size: 5, settings, seed: 2 });
    const cornerNeighbours = new Set(neighboursOf(0, 5));
    expect(corner.filter((id) => cornerNeighbours.has(id))).toHaveLength(1);
    expect(corner.filter((id) => !cornerNeighbours.has(id) && id !== 0)).toHaveLength(4);
    // The centre would keep 3 >= a quota of 3: the first configuration error.
    expect(() => selectTargets({ agentId: 12, size: 5, settings: { ...settings, targets: 3 }, seed: 4 })).toThrow(
      /must exceed/,
    );
  });

  it("reports the two configuration errors naming the parameter to change", () => {
    // Quota not above the kept neighbours: 3x3 centre has 4 neighbours, dropout 0 keeps 4.
    const notAbove = () => validateTargetSettings({ targets: 4, global: true, dropout: 0 }, 3);
    expect(notAbove).toThrow(ConfigError);
    expect(notAbove).toThrow(/--targets 4 must exceed the 4 neighbours kept.*raise --targets or raise --dropout/);
    // Too few non-neighbours: 3x3 centre has 4 non-neighbours, quota 8 keeps 2 and needs 6 others.
    const tooFew = () => validateTargetSettings({ targets: 8, global: true, dropout: 0.5 }, 3);
    expect(tooFew).toThrow(/needs \d+ non-neighbours but only \d+ exist; lower --targets/);
    expect(() => validateTargetSettings({ targets: 0, global: false, dropout: 0 }, 3)).toThrow(/--targets/);
    expect(() => validateTargetSettings({ targets: 2, global: true, dropout: 1.5 }, 3)).toThrow(/--dropout/);
  });
});

// The selection as it was before it stopped listing candidates (square scan, id-ordered lists,
// sampling the lists): stored runs chose their feedback givers this way, so the new one must agree.
function listedNeighbours(agentId: number, size: number): number[] {
  const row = Math.floor(agentId / size);
  const col = agentId % size;
  const radius = Math.floor(size / 2);
  const neighbours: number[] = [];
  for (let otherRow = 0; otherRow < size; otherRow += 1) {
    for (let otherCol = 0; otherCol < size; otherCol += 1) {
      if (otherRow === row && otherCol === col) continue;
      if ((otherRow - row) ** 2 + (otherCol - col) ** 2 <= radius * radius) neighbours.push(otherRow * size + otherCol);
    }
  }
  return neighbours;
}

function listedSelection(agentId: number, size: number, settings: TargetSelectionSettings, seed: number): number[] {
  const random = createRandom({ seed, algorithm: "mulberry32" });
  const neighbours = listedNeighbours(agentId, size);
  if (!settings.global) return sampleWithoutReplacement({ items: neighbours, count: settings.targets, random });
  const kept = keptNeighbourCount(neighbours.length, settings.dropout);
  const neighbourSet = new Set(neighbours);
  const others = Array.from({ length: size * size }, (_, id) => id).filter(
    (id) => id !== agentId && !neighbourSet.has(id),
  );
  return [
    ...sampleWithoutReplacement({ items: neighbours, count: kept, random }),
    ...sampleWithoutReplacement({ items: others, count: settings.targets - kept, random }),
  ];
}

describe("selection without listing candidates", () => {
  it("chooses exactly what sampling the listed candidates chose, for every cell of many worlds", () => {
    for (let size = 1; size <= 13; size += 1) {
      for (let agentId = 0; agentId < size * size; agentId += 1) {
        expect(neighboursOf(agentId, size)).toEqual(listedNeighbours(agentId, size));
        expect(neighbourCountOf(agentId, size)).toBe(listedNeighbours(agentId, size).length);
        for (const targets of [1, 4, 9]) {
          const seed = deriveSeed(size, "agent", agentId, targets);
          const local = { targets, global: false, dropout: 0.5 };
          expect(selectTargets({ agentId, size, settings: local, seed })).toEqual(
            listedSelection(agentId, size, local, seed),
          );
        }
      }
    }
    for (const size of [8, 10, 17, 24]) {
      const settings = { targets: Math.floor(size * 2.5), global: true, dropout: 0.9 };
      validateTargetSettings(settings, size);
      for (let agentId = 0; agentId < size * size; agentId += 7) {
        const seed = deriveSeed(size, "global", agentId);
        expect(selectTargets({ agentId, size, settings, seed })).toEqual(
          listedSelection(agentId, size, settings, seed),
        );
      }
    }
  });

  it("stays cheap at 100x100 with global interaction: every agent's givers are distinct and in range", () => {
    const size = 100;
    const settings = { targets: 8, global: true, dropout: 0.9995 };
    validateTargetSettings(settings, size);
    const centre = 50 * size + 50;
    const chosen = selectTargets({ agentId: centre, size, settings, seed: 5 });
    expect(chosen).toEqual(listedSelection(centre, size, settings, 5));
    for (let agentId = 0; agentId < size * size; agentId += 3) {
      const givers = selectTargets({ agentId, size, settings, seed: agentId });
      expect(givers).toHaveLength(8);
      expect(new Set(givers).size).toBe(8);
      expect(givers.every((id) => id !== agentId && id >= 0 && id < size * size)).toBe(true);
    }
  });
});
