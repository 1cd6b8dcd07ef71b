import { describe, expect, it } from "vitest";
import { InputError } from "../spec/errors.js";
import { makeRecord } from "./__fixtures__/interaction-record-fixture.js";
import { checkInteractionRecord, peerModel } from "./interaction-record-reader.js";

const where = { file: "runs/a/records.jsonl", line: 4 };

function problem(mutate: (record: Record<string, unknown>) => void): string {
  const record = structuredClone(makeRecord()) as unknown as Record<string, unknown>;
  mutate(record);
  try {
    checkInteractionRecord(record, where);
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return (error as InputError).message;
  }
  return "accepted";
}

describe("checkInteractionRecord", () => {
  it("accepts a complete record and ignores unknown fields", () => {
    expect(problem((record) => Object.assign(record, { extra: 1, usage: undefined }))).toBe("accepted");
  });

  it.each([
    ["question", (record: Record<string, unknown>) => delete record.question, 'record field "question" is missing'],
    [
      "draft type",
      (record: Record<string, unknown>) => Object.assign(record, { draft_answer: 3 }),
      '"draft_answer" must be a string',
    ],
    [
      "rating length",
      (record: Record<string, unknown>) => Object.assign(record, { rating: [5] }),
      '"rating" has 1 entries but feedback has 2',
    ],
    [
      "valid null rating",
      (record: Record<string, unknown>) => Object.assign(record, { rating: [null, 5] }),
      '"rating[0]" is flagged valid but is not a number',
    ],
    [
      "off scale",
      (record: Record<string, unknown>) => Object.assign(record, { gen_moral_score_after: 9 }),
      "is 9, outside the 1-7 scale",
    ],
    [
      "score key",
      (record: Record<string, unknown>) => delete record.gen_moral_score_before,
      '"gen_moral_score_before" is missing',
    ],
    [
      "validity",
      (record: Record<string, unknown>) => delete (record.validity as Record<string, unknown>).moral_after,
      '"validity.moral_after" is missing',
    ],
    [
      "peers",
      (record: Record<string, unknown>) =>
        Object.assign(record, { models: { agent: "a", observer: "o", peers: ["x", "y", "z"] } }),
      '"models.peers" has 3 entries for 2 feedback givers',
    ],
    [
      "not an object",
      (record: Record<string, unknown>) => Object.assign(record, { feedback: "x" }),
      '"feedback" must be an array',
    ],
  ])("rejects a bad %s naming the field, file and line", (_, mutate, message) => {
    const text = problem(mutate);
    expect(text).toContain(message);
    expect(text.startsWith("runs/a/records.jsonl:4: ")).toBe(true);
  });

  it("accepts a null score when its flag says invalid", () => {
    expect(
      problem((record) => {
        record.gen_moral_score_before = null;
        (record.validity as Record<string, unknown>).moral_before = false;
      }),
    ).toBe("accepted");
  });

  it("finds each peer's model, or the one shared entry", () => {
    expect(peerModel(makeRecord(), 1)).toBe("peer-2");
    expect(peerModel(makeRecord({ models: { agent: "a", observer: "o", peers: ["all"] } }), 1)).toBe("all");
  });
});
