import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { InputError } from "../spec/errors.js";
import { readPreferencePairs } from "./preference-pairs-reader.js";

const directory = mkdtempSync(join(tmpdir(), "sa-pairs-"));
const write = (name: string, rows: unknown[]): string => {
  const path = join(directory, name);
  const text = `${rows.map((row) => JSON.stringify(row)).join("\n")}\n`;
  writeFileSync(path, name.endsWith(".gz") ? gzipSync(text) : text);
  return path;
};

describe("readPreferencePairs", () => {
  it("reads HH-RLHF dialogues (gzip) and DPO rows, counting unscorable rows as skips", async () => {
    const hh = write("hh.jsonl.gz", [
      { chosen: "\n\nHuman: hi\n\nAssistant: hello", rejected: "\n\nHuman: hi\n\nAssistant: go away" },
      { chosen: "\n\nHuman: same\n\nAssistant: x", rejected: "\n\nHuman: same\n\nAssistant: x" },
      { chosen: "\n\nHuman: no answer", rejected: "\n\nHuman: no answer either" },
    ]);
    const pairs = await readPreferencePairs({ path: hh });
    expect(pairs.rows).toBe(3);
    expect(pairs.items).toEqual([
      {
        id: "line 1",
        chosen: { context: "\n\nHuman: hi\n\nAssistant:", continuation: " hello" },
        rejected: { context: "\n\nHuman: hi\n\nAssistant:", continuation: " go away" },
      },
    ]);
    expect(pairs.skipped).toEqual({
      "chosen and rejected are identical": 1,
      'the chosen dialogue does not end with an "Assistant:" turn': 1,
    });

    const dpo = write("dpo.jsonl", [
      { prompt: "Q: 2+2?\nA:", chosen: " 4", rejected: " 5" },
      { prompt: "Q", chosen: " same", rejected: " same" },
      { prompt: "Q", chosen: " fine", rejected: "  " },
    ]);
    const dpoPairs = await readPreferencePairs({ path: dpo, limit: 2 });
    expect(dpoPairs.rows).toBe(2);
    expect(dpoPairs.items.map((item) => [item.id, item.chosen.context, item.chosen.continuation])).toEqual([
      ["line 1", "Q: 2+2?\nA:", " 4"],
    ]);
    expect(dpoPairs.skipped).toEqual({ "chosen and rejected are identical": 1 });
  });

  it("names the file, line and field of a malformed row", async () => {
    const path = write("bad.jsonl", [
      { prompt: "Q", chosen: " a", rejected: " b" },
      { prompt: "Q", chosen: 3, rejected: "b" },
    ]);
    const error = await readPreferencePairs({ path }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message).toBe(`${path}:2: field "chosen" must be a string`);
    const prompt = write("prompt.jsonl", [{ prompt: 1, chosen: "a", rejected: "b" }]);
    await expect(readPreferencePairs({ path: prompt })).rejects.toThrow(`${prompt}:1: field "prompt" must be a string`);
  });
});
