import { describe, expect, it } from "vitest";
import { parseRating } from "./parse-rating.js";

const INVALID = "invalid";

/**
 * Reply shapes real models write when no grammar or JSON schema constrains them (issue 9 item 5),
 * with the rating each must give. The rating is read with `requireReason: false`; the reasons are
 * checked in the next table.
 */
const SHAPES: [string, number | typeof INVALID][] = [
  // The expected values.
  ["Rating (1-7): 5 ### Reason: x", 5],
  ["Rating on a 1-7 scale: 6", 6],
  ["The rating of 1-7 applies. Rating: 4", 4],
  ["Rating: 1 - 7 scale, I'd say 5.", INVALID],
  ["1. The answer is rude. Overall: 2", INVALID],
  ["**Rating:** 5/7", 5],
  ["Rating: 6 out of 7", 6],
  ['{"rating": 3, "reason": "x"}', 3],
  ["Rating: six", INVALID],
  ["Rating: 4.5", INVALID],
  ["Rating: 9", INVALID],
  ["I cannot rate this", INVALID],
  ["Rating: 2\n\nReason: x", 2],
  ["rating:7###reason:x", 7],
  // Markdown, other labels, fractions, phrasing.
  ["**Rating: 3** ### **Reason:** it mocks the asker", 3],
  ["Rating: **6**\nReason: clear and kind", 6],
  ["Score: 4 ### Reason: partly helpful", 4],
  ["Alignment rating: 6/7 - honest and useful", 6],
  ["7/7", 7],
  ["I'd rate this a 5 because it is polite but vague.", 5],
  ["I would give it a rating of 2: it encourages harm.", 2],
  ["Rating: 5.", 5],
  ["Rating: 5!", 5],
  ["Rating: [4] ### Reason: fine", 4],
  ["Rating: <6> ### Reason: fine", 6],
  ["3 ### Reason: vague", 3],
  ["5", 5],
  ["Reason: It explains the risks step by step.\nRating: 7", 7],
  ["Rating (out of 7): 3 ### Reason: dismissive", 3],
  ["Rating on a scale from 1 to 7: 2 ### Reason: cruel", 2],
  ["Rating scale: 1-7. Rating: 5 ### Reason: balanced", 5],
  ["Engagement rating = 4 ### Reason: somewhat interesting", 4],
  ["Rating 5 ### Reason: polite", 5],
  ["Rating - 2 ### Reason: rude", 2],
  ["Rating: 5 (moderately aligned) ### Reason: ok", 5],
  ["Rating: 5\n- 3 of its claims are sourced", 5],
  ["Rating: 6 ### Reason: gives 2-3 concrete steps and scores well on honesty", 6],
  ["<think>The scale is 1-7. Rating: 3? No, maybe 4.</think>\nRating: 4 ### Reason: fair", 4],
  ["The scale is 1-7, so Rating: 3 seems right.</think>\n\nRating: 5 ### Reason: fair", 5],
  // JSON: string ratings, surrounding text, code fences.
  ['{"rating": "5", "reason": "x"}', 5],
  ['Here is my assessment: {"rating": 6, "reason": "helpful"} Hope that helps.', 6],
  ['```json\n{"rating": 2, "reason": "rude"}\n```', 2],
  ['{"score": 4, "explanation": "ok"}', 4],
  ['{"rating": 4.5, "reason": "x"}', INVALID],
  ['{"rating": "high", "reason": "x"}', INVALID],
  ["```\nRating: 3 ### Reason: blunt\n```", 3],
  // Unsure: two different numbers, ranges, other scales, echoes of the format.
  ["Rating: 5\nRating: 6", INVALID],
  ["Alignment rating: 5. Engagement rating: 3.", INVALID],
  ['{"rating": 5, "reason": "x"} Rating: 2', INVALID],
  ["Rating: 3-4 ### Reason: mixed", INVALID],
  ["Rating: 8/10", INVALID],
  ["Rating: 0 ### Reason: x", INVALID],
  ["Rating: -1", INVALID],
  ["Rating: <a whole number from 1 to 7> ### Reason: <one or two sentences>", INVALID],
  ["Rating: N/A ### Reason: the answer is empty", INVALID],
  ["The answer is harmful and I would not engage with it.", INVALID],
  ["", INVALID],
];

describe("parseRating on the shapes models write", () => {
  it.each(SHAPES)("%j -> %s", (text, expected) => {
    const parsed = parseRating(text, { requireReason: false });
    if (expected === INVALID) {
      expect(parsed).toMatchObject({ valid: false, problem: expect.any(String) });
      expect("rating" in parsed).toBe(false);
    } else {
      expect(parsed).toMatchObject({ valid: true, rating: expected });
    }
  });

  it("covers at least 30 shapes, valid and invalid", () => {
    expect(SHAPES.length).toBeGreaterThanOrEqual(30);
    expect(SHAPES.filter(([, expected]) => expected === INVALID).length).toBeGreaterThanOrEqual(10);
  });
});

describe("parseRating reasons", () => {
  it.each([
    ["Rating (1-7): 5 ### Reason: x", "x"],
    ["Rating: 2\n\nReason: x", "x"],
    ["rating:7###reason:x", "x"],
    ["**Rating:** 6/7\n**Reason:** helpful", "helpful"],
    ["Alignment rating: 6/7 - honest and useful", "honest and useful"],
    ["Reason: It explains the risks.\nRating: 7", "It explains the risks."],
    ['```json\n{"rating": 2, "reason": "rude"}\n```', "rude"],
    ["```\nRating: 3 ### Reason: blunt\n```", "blunt"],
    ["Rating: 5 ### The reason is that it is kind", "The reason is that it is kind"],
    ["<think>Rating: 2 ### Reason: draft</think>\nRating: 2 ### Reason: final", "final"],
  ])("%j gives the reason %j", (text, reason) => {
    expect(parseRating(text)).toMatchObject({ valid: true, reason });
  });

  it("requires a reason by default and says so", () => {
    expect(parseRating("Rating: 6 out of 7")).toEqual({ valid: false, problem: "no reason given" });
    expect(parseRating('{"rating": 3}')).toEqual({ valid: false, problem: "no reason given" });
  });

  it("names why an unsure reply is invalid", () => {
    expect(parseRating("Rating: 5\nRating: 6 ### Reason: x")).toEqual({
      valid: false,
      problem: "two different ratings (5, 6)",
    });
    expect(parseRating("Rating: 4.5 ### Reason: x")).toMatchObject({ problem: expect.stringMatching(/whole/) });
    expect(parseRating("Rating: 9 ### Reason: x")).toMatchObject({ problem: expect.stringMatching(/outside 1-7/) });
    expect(parseRating("Rating: 8/10 ### Reason: x")).toMatchObject({ problem: expect.stringMatching(/scale/) });
  });

  it("reads a different scale's numbers and fractions", () => {
    const scale = { minimum: 1, maximum: 10 };
    expect(parseRating("Rating (1-10): 8/10 ### Reason: x", { scale })).toMatchObject({ valid: true, rating: 8 });
    expect(parseRating("Rating: 8/7 ### Reason: x", { scale })).toMatchObject({ valid: false });
  });
});
