import { describe, expect, it } from "vitest";
import { InputError } from "../spec/errors.js";
import { makeRecord } from "./__fixtures__/interaction-record-fixture.js";
import { makeReferenceRecord } from "./__fixtures__/reference-run-fixture.js";
import { checkInteractionRecord, peerModel } from "./interaction-record-reader.js";
import { ratingFromValue } from "./reference-records.js";

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

describe("checkInteractionRecord on the reference implementation's records", () => {
  it("takes validity from the values: string peer ratings, float observer scores, unknown models", () => {
    const record = checkInteractionRecord(makeReferenceRecord(), where);
    expect(record.rating).toEqual([2, 3]);
    expect(record.mean_rating).toBe(2.5);
    expect(record.gen_moral_score_before).toBe(2);
    expect(record.validity).toEqual({
      peer: [true, true],
      moral_before: true,
      engagement_before: true,
      moral_after: true,
      engagement_after: true,
    });
    expect(record.models).toEqual({ agent: "unknown", observer: "unknown", peers: ["unknown"] });
    expect(peerModel(record, 1)).toBe("unknown");
  });

  it("treats the sentinels 8 and -1, non-numbers and non-whole numbers as invalid", () => {
    const record = checkInteractionRecord(
      makeReferenceRecord({
        target_id: [1, 2, 3, 4, 5, 6, 7],
        feedback: ["a", "b", "c", "d", "e", "f", "g"],
        rating: ["8", "-1", "", "N/A", 4.5, "3.0", 7],
        gen_moral_score_before: 8.0,
        gen_moral_score_after: -1.0,
        gen_engagement_score_before: "5",
      }),
      where,
    );
    expect(record.rating).toEqual([null, null, null, null, null, 3, 7]);
    expect(record.validity.peer).toEqual([false, false, false, false, false, true, true]);
    expect(record.mean_rating).toBe(5);
    expect(record.gen_moral_score_before).toBeNull();
    expect(record.gen_moral_score_after).toBeNull();
    expect(record.validity).toMatchObject({ moral_before: false, moral_after: false, engagement_before: true });
    expect(record.mean_rating).not.toBeNaN();
    expect(checkInteractionRecord(makeReferenceRecord({ rating: ["8", "-1"] }), where).mean_rating).toBeNull();
    expect([0, 1, 7, 8, "7", " 2 ", "2.0", "2.5", null, true].map(ratingFromValue)).toEqual([
      null,
      1,
      7,
      null,
      7,
      2,
      2,
      null,
      null,
      null,
    ]);
  });

  it("still names missing or malformed fields", () => {
    const missing = makeReferenceRecord();
    delete missing.gen_moral_score_after;
    expect(() => checkInteractionRecord(missing, where)).toThrow(
      'runs/a/records.jsonl:4: record field "gen_moral_score_after" is missing',
    );
    expect(() => checkInteractionRecord(makeReferenceRecord({ rating: "3" }), where)).toThrow(
      'record field "rating" must be an array',
    );
    expect(() => checkInteractionRecord(makeReferenceRecord({ rating: ["3"] }), where)).toThrow(
      'record field "rating" has 1 entries but feedback has 2',
    );
  });
});
