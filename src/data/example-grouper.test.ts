import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AlignmentExample } from "../spec/alignment-data.js";
import { createExampleGrouper } from "./example-grouper.js";

let directory: string;
beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), "data-group-"));
});
afterEach(() => {
  rmSync(directory, { recursive: true, force: true });
});

const read = (grouped: { readExampleJson(id: number): Buffer }, id: number): AlignmentExample =>
  JSON.parse(grouped.readExampleJson(id).toString("utf8")) as AlignmentExample;

describe("createExampleGrouper", () => {
  it("groups by exact prompt per kind, in first-appearance order, across re-split buckets", async () => {
    // One bucket of at most 300 bytes forces the spill to be split again before grouping.
    const grouper = createExampleGrouper({ temporaryParent: directory, bucketCount: 1, maxBucketBytes: 300 });
    const expected = new Map<string, string[]>();
    for (let round = 0; round < 3; round += 1) {
      for (let prompt = 0; prompt < 40; prompt += 1) {
        const query = `prompt ${prompt} ${"x".repeat(prompt % 7)}`;
        const response = `answer ${round % 2} to ${prompt} \u00e9\u4e2d`;
        grouper.add("imitation", query, [{ response, score: round + 1, model: `m${round}` }]);
        const list = expected.get(query) ?? [];
        if (!list.includes(response)) list.push(response);
        expected.set(query, list);
      }
    }
    grouper.add("self-critic", "prompt 0 ", [{ response: "critique", score: 2, model: "p" }]);
    const grouped = await grouper.finish();
    expect(grouped.count).toBe(41);
    expect(grouped.duplicates).toEqual({ imitation: 40, "self-critic": 0, realignment: 0 });
    const imitation = [...grouped.idsOfKind("imitation")].map((id) => read(grouped, id));
    expect(imitation.map((example) => example.query)).toEqual([...expected.keys()]);
    for (const example of imitation) {
      expect(example.responses).toEqual(expected.get(example.query));
      expect(example.scores).toEqual([1, 2]);
      expect(example.models).toEqual(["m0", "m1"]);
    }
    const [critic] = [...grouped.idsOfKind("self-critic")].map((id) => read(grouped, id));
    expect(critic).toEqual({
      query: "prompt 0 ",
      responses: ["critique"],
      scores: [2],
      models: ["p"],
      kind: "self-critic",
    });
    expect(read(grouped, grouped.idsInOrder()[40] as number).kind).toBe("self-critic");
    grouped.dispose();
    expect(readdirSync(directory)).toEqual([]);
  });

  it("switches to a set for large prompts and still drops every duplicate", async () => {
    const grouper = createExampleGrouper({ temporaryParent: directory, bucketCount: 4 });
    for (let index = 0; index < 100; index += 1) {
      grouper.add("realignment", "one prompt", [{ response: `r${index % 30}`, score: 5, model: "m" }]);
    }
    const grouped = await grouper.finish();
    const [example] = [...grouped.idsOfKind("realignment")].map((id) => read(grouped, id));
    expect(example?.responses).toEqual(Array.from({ length: 30 }, (_, index) => `r${index}`));
    expect(grouped.duplicates.realignment).toBe(70);
    grouped.dispose();
  });

  it("removes its work folder when discarded", () => {
    const grouper = createExampleGrouper({ temporaryParent: directory });
    grouper.add("imitation", "q", [{ response: "r", score: 1, model: "m" }]);
    grouper.dispose();
    expect(readdirSync(directory)).toEqual([]);
  });
});
