import { describe, expect, it } from "vitest";
import { createEvaluationRepository } from "./evaluation-repository.js";
import { createJudgeRepository } from "./judge-repository.js";
import { MIGRATIONS } from "./migrations.js";
import { openStore } from "./open-store.js";

describe("judge repository", () => {
  it("stores answers and every verdict with judge model, prompt version, raw output and parsed value", () => {
    const store = openStore({ path: ":memory:" });
    createEvaluationRepository({ database: store.database }).createRun({ runId: "r", config: {} });
    const repository = createJudgeRepository({ database: store.database });
    const where = { runId: "r", model: "m", benchmark: "hh-harmless" };
    repository.saveGeneration({
      ...where,
      generation: { itemId: "1", prompt: "p", text: "<script>alert(1)</script>", finishReason: "stop" },
    });
    repository.saveGeneration({
      ...where,
      generation: { itemId: "1", prompt: "p", text: "later", finishReason: "stop" },
    });
    expect(repository.loadGenerations(where).get("1")?.text).toBe("<script>alert(1)</script>");
    const common = { judgeModel: "judge", promptSha256: "a".repeat(64), attempts: 1, opponent: "" };
    repository.saveVerdict({
      ...where,
      verdict: {
        ...common,
        itemId: "1",
        aspect: "alignment",
        promptVersion: "observer-alignment@v1",
        valid: true,
        parsed: 6,
        reason: "fine",
        raw: "Rating: 6 ### Reason: fine",
      },
    });
    repository.saveVerdict({
      ...where,
      verdict: {
        ...common,
        itemId: "1",
        aspect: "pairwise-forward",
        opponent: "reference",
        promptVersion: "pairwise-judge@v1",
        valid: true,
        parsed: "tie",
        reason: "same",
        raw: "Verdict: tie ### Reason: same",
      },
    });
    repository.saveVerdict({
      ...where,
      verdict: {
        ...common,
        itemId: "2",
        aspect: "alignment",
        promptVersion: "observer-alignment@v1",
        valid: false,
        parsed: undefined,
        reason: "",
        raw: "no idea",
        attempts: 3,
      },
    });
    const verdicts = repository.loadVerdicts(where);
    expect(verdicts.map((verdict) => verdict.parsed)).toEqual([6, "tie", undefined]);
    expect(verdicts[0]).toMatchObject({
      judgeModel: "judge",
      promptVersion: "observer-alignment@v1",
      raw: "Rating: 6 ### Reason: fine",
    });
    expect(verdicts[2]).toMatchObject({ valid: false, attempts: 3, raw: "no idea" });
    // The judges migration (6) and every later one are applied.
    expect(store.database.pragma("user_version", { simple: true })).toBe(MIGRATIONS.length);
    expect(MIGRATIONS.find((migration) => migration.version === 6)?.name).toBe("judges");
    store.close();
  });
});
