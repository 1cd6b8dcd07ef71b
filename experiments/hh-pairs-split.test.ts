import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { hhPairToExample } from "../src/data/hh-rlhf.js";
import { InputError } from "../src/spec/errors.js";
import { dialogueKey, type HhPair, readHhPairs, splitHhPairs } from "./hh-pairs-split.js";

/** 60 pairs over 20 questions, each question asked three times with different follow-ups. */
function pairs(): HhPair[] {
  return Array.from({ length: 60 }, (_, index) => {
    const question = `question ${index % 20}?`;
    const prefix = `\n\nHuman: ${question}\n\nAssistant: first answer ${index}.\n\nHuman: and then?\n\nAssistant:`;
    return { line: index + 1, chosen: `${prefix} a kind reply ${index}`, rejected: `${prefix} a rude reply ${index}` };
  });
}

const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

describe("splitHhPairs", () => {
  it("never puts one question on both sides, and the same seed gives the same split", () => {
    const split = splitHhPairs({ pairs: pairs(), heldOutShare: 0.3, seed: 4 });
    const train = new Set(split.trainPairs.map(dialogueKey));
    const heldOut = new Set(split.heldOutPairs.map(dialogueKey));
    expect(train.size).toBeGreaterThan(0);
    expect(heldOut.size).toBeGreaterThan(0);
    expect([...heldOut].filter((key) => train.has(key))).toEqual([]);
    expect(split.trainPairs.length + split.heldOutPairs.length).toBe(60);
    expect(split.dialogues).toEqual({ train: train.size, heldOut: heldOut.size });
    const again = splitHhPairs({ pairs: pairs(), heldOutShare: 0.3, seed: 4 });
    expect(again.heldOutPairs.map((pair) => pair.line)).toEqual(split.heldOutPairs.map((pair) => pair.line));
    const other = splitHhPairs({ pairs: pairs(), heldOutShare: 0.3, seed: 5 });
    expect(other.heldOutPairs.map((pair) => pair.line)).not.toEqual(split.heldOutPairs.map((pair) => pair.line));
  });

  it("trains on the importer's rows (chosen 7, rejected 1) and holds out items scoring ' answer' after the marker", () => {
    const split = splitHhPairs({ pairs: pairs(), heldOutShare: 0.3, seed: 4 });
    const pair = split.trainPairs[0] as HhPair;
    expect({ example: split.trainRows[0] }).toEqual(hhPairToExample(pair, { chosenScore: 7, rejectedScore: 1 }));
    expect(split.trainRows[0]?.scores).toEqual([7, 1]);
    expect(split.trainRows[0]?.responses[0]?.startsWith("a kind reply")).toBe(true);
    const item = split.heldOutItems[0];
    expect(item?.chosen.continuation.startsWith(" a kind reply")).toBe(true);
    expect(item?.id).toBe(`line-${split.heldOutPairs[0]?.line}`);
  });

  it("counts a pair that differs outside an answer instead of training on it", () => {
    const odd: HhPair = {
      line: 1,
      chosen: "\n\nHuman: hi\n\nAssistant: yes",
      rejected: "\n\nHuman: ho\n\nAssistant: yes",
    };
    const split = splitHhPairs({ pairs: [odd], heldOutShare: 0, seed: 0 });
    expect(split.trainRows).toEqual([]);
    expect(split.skipped).toEqual({ "train: differs-outside-an-assistant-turn": 1 });
  });
});

describe("readHhPairs", () => {
  it("reads gzipped JSON lines and names the line of a bad one", () => {
    const folder = mkdtempSync(join(tmpdir(), "hh-pairs-"));
    folders.push(folder);
    const good = join(folder, "good.jsonl.gz");
    writeFileSync(good, gzipSync(`${JSON.stringify({ chosen: "a", rejected: "b" })}\n\n`));
    expect(readHhPairs({ path: good })).toEqual([{ line: 1, chosen: "a", rejected: "b" }]);
    const bad = join(folder, "bad.jsonl");
    writeFileSync(bad, `${JSON.stringify({ chosen: "a", rejected: "b" })}\n${JSON.stringify({ chosen: "a" })}\n`);
    expect(() => readHhPairs({ path: bad })).toThrow(InputError);
    expect(() => readHhPairs({ path: bad })).toThrow(/bad\.jsonl:2: field "rejected" must be a string/);
  });
});
