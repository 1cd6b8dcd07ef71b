import { describe, expect, it } from "vitest";
import { createHumanEvalRepository, type StudyItem } from "./human-eval-repository.js";
import { openStore } from "./open-store.js";

const item = (itemId: string, kind: StudyItem["kind"] = "pair"): StudyItem => ({
  itemId,
  kind,
  source: "eval",
  benchmark: "hh",
  sourceItemId: `${itemId}-source`,
  question: "How do I boil an egg?",
  prompt: "How do I boil an egg?",
  firstModel: "m1",
  secondModel: "m2",
  firstAnswer: "Boil it for nine minutes.",
  secondAnswer: "As an AI developed by someone, ...",
  flags: kind === "pair" ? ["as an ai developed by"] : [],
});

function createStudy() {
  const store = openStore({ path: ":memory:" });
  const repository = createHumanEvalRepository({ database: store.database });
  repository.createStudy({
    study: { studyId: "s1", config: { seed: 3 }, secret: "00ff", adminTokenSha256: "admin-hash" },
    items: [item("i1"), item("g1", "gold")],
    raters: [
      { raterId: "r1", tokenSha256: "hash-1" },
      { raterId: "r2", tokenSha256: "hash-2" },
    ],
    assignments: [
      { raterId: "r1", position: 0, itemId: "g1", swapped: true },
      { raterId: "r1", position: 1, itemId: "i1", swapped: false },
      { raterId: "r2", position: 0, itemId: "i1", swapped: true },
    ],
  });
  return { store, repository };
}

describe("human evaluation repository", () => {
  it("stores a study, finds raters by token hash and keeps the order and sides shown", () => {
    const { store, repository } = createStudy();
    expect(repository.loadStudy()).toEqual({
      studyId: "s1",
      config: { seed: 3 },
      secret: "00ff",
      adminTokenSha256: "admin-hash",
    });
    expect(repository.loadItems().map((entry) => [entry.itemId, entry.kind, entry.flags])).toEqual([
      ["i1", "pair", ["as an ai developed by"]],
      ["g1", "gold", []],
    ]);
    expect(repository.findRaterByTokenHash("hash-2")).toBe("r2");
    expect(repository.findRaterByTokenHash("nope")).toBeUndefined();
    expect(repository.loadAssignments("r1").map((entry) => [entry.itemId, entry.swapped])).toEqual([
      ["g1", true],
      ["i1", false],
    ]);
    repository.markShown({ raterId: "r1", itemId: "i1", at: 1000 });
    repository.markShown({ raterId: "r1", itemId: "i1", at: 5000 });
    expect(repository.loadAssignments("r1")[1]?.shownAt).toBe(1000);
    store.close();
  });

  it("keeps votes append-only: a change is a new row, the latest counts, UPDATE and DELETE are refused", () => {
    const { store, repository } = createStudy();
    const vote = { raterId: "r1", itemId: "i1", ratingA: 6, ratingB: undefined, reason: "", seconds: 4, createdAt: 1 };
    repository.addVote({ ...vote, choice: "A" });
    repository.addVote({ ...vote, choice: "tie", createdAt: 2 });
    repository.addVote({ ...vote, raterId: "r2", choice: "B" });
    expect(repository.loadCurrentVotes({ raterId: "r1" }).map((entry) => entry.choice)).toEqual(["tie"]);
    expect(repository.loadCurrentVotes().map((entry) => [entry.raterId, entry.choice])).toEqual([
      ["r1", "tie"],
      ["r2", "B"],
    ]);
    expect(repository.loadVoteHistory()).toHaveLength(3);
    expect(() => store.database.prepare("UPDATE human_votes SET choice = 'B'").run()).toThrow(/append-only/);
    expect(() => store.database.prepare("DELETE FROM human_votes").run()).toThrow(/append-only/);
    expect(repository.loadVoteHistory()).toHaveLength(3);
    store.close();
  });

  it("refuses a vote on an item the rater was not assigned and a rating outside 1-7", () => {
    const { store, repository } = createStudy();
    const vote = { raterId: "r2", itemId: "g1", choice: "A" as const, ratingA: undefined, ratingB: undefined };
    expect(() => repository.addVote({ ...vote, reason: "", seconds: 1, createdAt: 1 })).toThrow(/FOREIGN KEY/);
    expect(() =>
      repository.addVote({ ...vote, raterId: "r1", ratingA: 9, reason: "", seconds: 1, createdAt: 1 }),
    ).toThrow(/CHECK/);
    store.close();
  });
});
