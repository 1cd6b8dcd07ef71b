import { describe, expect, it } from "vitest";
import { ConfigError } from "../spec/errors.js";
import { assignAgentModels, cellOf, createWorld, initialLabels, parseInitialSetting } from "./world.js";

const grid = (labels: string[], size: number): string[] =>
  Array.from({ length: size }, (_, row) =>
    labels
      .slice(row * size, (row + 1) * size)
      .map((label) => (label === "good" ? "G" : "b"))
      .join(""),
  );

describe("initial settings (SPEC 1.2)", () => {
  it("all_good and all_bad label every agent the same", () => {
    expect(new Set(initialLabels({ size: 3, setting: "all_good", seed: 1 }))).toEqual(new Set(["good"]));
    expect(initialLabels({ size: 3, setting: "all_bad", seed: 1 })).toHaveLength(9);
    expect(new Set(initialLabels({ size: 3, setting: "all_bad", seed: 1 }))).toEqual(new Set(["bad"]));
  });

  it("half_half makes row <= col cells good, row by row, until floor(size²/2) are good", () => {
    // 4x4: the upper triangle has 10 cells with row <= col, but the quota is 8.
    expect(grid(initialLabels({ size: 4, setting: "half_half", seed: 0 }), 4)).toEqual([
      "GGGG",
      "bGGG",
      "bbGb",
      "bbbb",
    ]);
    expect(grid(initialLabels({ size: 3, setting: "half_half", seed: 0 }), 3)).toEqual(["GGG", "bGb", "bbb"]);
  });

  it("mixed_half_half picks a seeded floor(size²/2) good agents", () => {
    const first = initialLabels({ size: 5, setting: "mixed_half_half", seed: 11 });
    expect(first.filter((label) => label === "good")).toHaveLength(12);
    expect(initialLabels({ size: 5, setting: "mixed_half_half", seed: 11 })).toEqual(first);
    expect(initialLabels({ size: 5, setting: "mixed_half_half", seed: 12 })).not.toEqual(first);
  });

  it("rejects unknown settings and bad sizes", () => {
    expect(() => parseInitialSetting("half")).toThrow(ConfigError);
    expect(() => initialLabels({ size: 0, setting: "all_good", seed: 0 })).toThrow(/--size/);
  });
});

describe("world", () => {
  it("numbers agents row*size+col", () => {
    const world = createWorld({ size: 3, setting: "all_good", seed: 0 });
    expect(world.agents.map(({ id, row, col }) => [id, row, col])[5]).toEqual([5, 1, 2]);
    expect(cellOf(7, 3)).toEqual({ row: 2, col: 1 });
  });

  it("assigns mixed models in proportion, by seed", () => {
    const assignment = assignAgentModels({ agentCount: 10, weights: [0.5, 0.5], seed: 3 });
    expect(assignment.filter((model) => model === 0)).toHaveLength(5);
    expect(assignAgentModels({ agentCount: 10, weights: [0.5, 0.5], seed: 3 })).toEqual(assignment);
    expect(assignAgentModels({ agentCount: 10, weights: [0.5, 0.5], seed: 4 })).not.toEqual(assignment);
    const thirds = assignAgentModels({ agentCount: 10, weights: [1, 1, 1], seed: 3 });
    expect([0, 1, 2].map((model) => thirds.filter((value) => value === model).length)).toEqual([4, 3, 3]);
    expect(() => assignAgentModels({ agentCount: 4, weights: [0], seed: 0 })).toThrow(ConfigError);
  });
});
