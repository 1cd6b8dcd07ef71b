import { describe, expect, it } from "vitest";
import { makeRecord } from "./__fixtures__/interaction-record-fixture.js";
import { loadDataTemplates } from "./data-templates.js";
import { createDropCounts, rowsFromRecord } from "./record-rows.js";

const templates = loadDataTemplates();
const question = "How do I calm down before an exam?";
const draft = "Just skip it.";
const revision = "Breathe slowly and review your notes.";
const imitationQuery = `### Instruction:\n${question}\n\n### Response:`;
const selfCriticQuery =
  `### Instruction:\n${question}\n\nThe input is one reply to the question above. Judge how well that reply ` +
  "respects shared social values: is it harmless, free of bias, honest and helpful? Explain your judgement." +
  `\n\n### Input:\n${draft}\n\n### Response:`;
const realignmentQuery =
  `### Instruction:\n${question}\n\nThe input is one reply to the question above. First explain how well it ` +
  "respects shared social values (harmless, free of bias, honest and helpful), then rewrite the reply so that it " +
  `respects them better.\n\n### Input:\n${draft}\n\n### Response:`;
const realigned = (feedback: string): string => `${feedback}\n\nHere is a better aligned reply:\n${revision}`;

describe("rowsFromRecord", () => {
  it("builds the three kinds of a regular record exactly", () => {
    const drops = createDropCounts();
    expect(rowsFromRecord(makeRecord(), { templates, drops })).toEqual([
      {
        kind: "imitation",
        query: imitationQuery,
        responses: [
          { response: draft, score: 3, model: "agent-model" },
          { response: revision, score: 6, model: "agent-model" },
        ],
        source: question,
      },
      {
        kind: "self-critic",
        query: selfCriticQuery,
        responses: [
          { response: "Clear and kind.", score: 6, model: "peer-1" },
          { response: "Could mention safety.", score: 5, model: "peer-2" },
        ],
        source: question,
      },
      {
        kind: "realignment",
        query: realignmentQuery,
        responses: [
          { response: realigned("Clear and kind."), score: 6, model: "agent-model" },
          { response: realigned("Could mention safety."), score: 6, model: "agent-model" },
        ],
        source: question,
      },
    ]);
    expect(drops).toEqual(createDropCounts());
  });

  it("makes no Realignment row when the scores before and after are equal", () => {
    const drops = createDropCounts();
    const rows = rowsFromRecord(makeRecord({ gen_moral_score_before: 5, gen_moral_score_after: 5 }), {
      templates,
      drops,
    });
    expect(rows.map((row) => row.kind)).toEqual(["imitation", "self-critic"]);
    expect(drops.realignment["not-improved"]).toBe(2);
  });

  it("makes no Realignment row when the score after is 4, even if it improved", () => {
    const drops = createDropCounts();
    const rows = rowsFromRecord(makeRecord({ gen_moral_score_before: 2, gen_moral_score_after: 4 }), {
      templates,
      drops,
    });
    expect(rows.map((row) => row.kind)).toEqual(["imitation", "self-critic"]);
    expect(drops.realignment["score-after-too-low"]).toBe(2);
    const five = rowsFromRecord(makeRecord({ gen_moral_score_before: 4, gen_moral_score_after: 5 }), { templates });
    expect(five.find((row) => row.kind === "realignment")?.responses.map((response) => response.score)).toEqual([5, 5]);
  });

  it("drops empty feedback from Self-Critic and Realignment and makes nothing from no feedback at all", () => {
    const drops = createDropCounts();
    const rows = rowsFromRecord(makeRecord({ feedback: ["", "  \n", "Be gentler."], rating: [6, 5, 4] }), {
      templates,
      drops,
    });
    expect(rows[1]).toEqual({
      kind: "self-critic",
      query: selfCriticQuery,
      responses: [{ response: "Be gentler.", score: 4, model: "peer-3" }],
      source: question,
    });
    expect(rows[2]?.responses).toEqual([{ response: realigned("Be gentler."), score: 6, model: "agent-model" }]);
    expect(drops["self-critic"]["empty-feedback"]).toBe(2);
    expect(drops.realignment["empty-feedback"]).toBe(2);

    const none = createDropCounts();
    const alone = rowsFromRecord(makeRecord({ feedback: [], rating: [] }), { templates, drops: none });
    expect(alone.map((row) => row.kind)).toEqual(["imitation"]);
    expect(none).toEqual(createDropCounts());
  });

  it("never lets an invalid peer rating in, and counts it", () => {
    const drops = createDropCounts();
    const record = makeRecord({ feedback: [null, "Fine."], rating: [null, 5] });
    expect(record.validity.peer).toEqual([false, true]);
    const rows = rowsFromRecord(record, { templates, drops });
    expect(rows[1]?.responses).toEqual([{ response: "Fine.", score: 5, model: "peer-2" }]);
    expect(rows[2]?.responses).toEqual([{ response: realigned("Fine."), score: 6, model: "agent-model" }]);
    expect(drops["self-critic"]["invalid-peer-rating"]).toBe(1);
    expect(drops.realignment["invalid-peer-rating"]).toBe(1);
  });

  it("ignores a rating flagged invalid even when a number was recorded", () => {
    const record = makeRecord({ feedback: ["Stale reason."], rating: [2] });
    record.validity.peer = [false];
    const rows = rowsFromRecord(record, { templates });
    expect(rows.map((row) => row.kind)).toEqual(["imitation"]);
  });

  it("drops the draft when the observer score before is invalid, and Realignment with it", () => {
    const drops = createDropCounts();
    const record = makeRecord({ gen_moral_score_before: null });
    record.validity.moral_before = false;
    const rows = rowsFromRecord(record, { templates, drops });
    expect(rows[0]).toEqual({
      kind: "imitation",
      query: imitationQuery,
      responses: [{ response: revision, score: 6, model: "agent-model" }],
      source: question,
    });
    expect(rows.map((row) => row.kind)).toEqual(["imitation", "self-critic"]);
    expect(drops.imitation["invalid-observer-rating"]).toBe(1);
    expect(drops.realignment["invalid-observer-rating"]).toBe(2);
  });

  it("drops the revision when the observer score after is invalid", () => {
    const drops = createDropCounts();
    const record = makeRecord({ gen_moral_score_after: null });
    record.validity.moral_after = false;
    const rows = rowsFromRecord(record, { templates, drops });
    expect(rows[0]?.responses).toEqual([{ response: draft, score: 3, model: "agent-model" }]);
    expect(drops.imitation["invalid-observer-rating"]).toBe(1);
    expect(drops.realignment["invalid-observer-rating"]).toBe(2);
  });

  it("builds only the kinds asked for, and a shared peer model entry serves every peer", () => {
    const record = makeRecord({ models: { agent: "a", observer: "o", peers: ["shared-peer"] } });
    const rows = rowsFromRecord(record, { templates, kinds: ["self-critic"] });
    expect(rows).toHaveLength(1);
    expect(rows[0]?.responses.map((response) => response.model)).toEqual(["shared-peer", "shared-peer"]);
  });
});
