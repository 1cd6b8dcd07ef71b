import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AlignmentExample } from "../spec/alignment-data.js";
import { ConfigError, InputError } from "../spec/errors.js";
import { promptToMessages } from "./chat-messages.js";
import { exampleToExportRows, exportAlignmentData, parseExportFormat } from "./export-alignment-data.js";

let directory: string;
beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), "data-export-"));
});
afterEach(() => {
  rmSync(directory, { recursive: true, force: true });
});

const query = "### Instruction:\nBe kind?\n\n### Input:\nDraft.\n\n### Response:";
const example: AlignmentExample = {
  query,
  responses: ["r3", "r6a", "r6b", "r1", "r4"],
  scores: [3, 6, 6, 1, 4],
  models: ["m", "m", "m", "m", "m"],
  kind: "self-critic",
};
const readJsonLines = (path: string): unknown[] =>
  readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as unknown);

describe("exampleToExportRows", () => {
  it("dpo pairs the best response (first on ties) with every strictly lower one", () => {
    expect(exampleToExportRows(example, { format: "dpo" })).toEqual([
      { prompt: query, chosen: "r6a", rejected: "r3", score_chosen: 6, score_rejected: 3 },
      { prompt: query, chosen: "r6a", rejected: "r1", score_chosen: 6, score_rejected: 1 },
      { prompt: query, chosen: "r6a", rejected: "r4", score_chosen: 6, score_rejected: 4 },
    ]);
    expect(exampleToExportRows({ ...example, scores: [5, 5, 5, 5, 5] }, { format: "dpo" })).toEqual([]);
  });

  it("kto labels >= 5 desirable and <= 3 undesirable, leaves 4 out, and takes other thresholds", () => {
    expect(exampleToExportRows(example, { format: "kto" })).toEqual([
      { prompt: query, completion: "r3", label: false },
      { prompt: query, completion: "r6a", label: true },
      { prompt: query, completion: "r6b", label: true },
      { prompt: query, completion: "r1", label: false },
    ]);
    expect(exampleToExportRows(example, { format: "kto", kto: { desirable: 4, undesirable: 2 } })).toEqual([
      { prompt: query, completion: "r6a", label: true },
      { prompt: query, completion: "r6b", label: true },
      { prompt: query, completion: "r1", label: false },
      { prompt: query, completion: "r4", label: true },
    ]);
  });

  it("sft and the OpenAI formats use the best response and turn the Alpaca prompt into a user message", () => {
    expect(exampleToExportRows(example, { format: "sft" })).toEqual([{ prompt: query, completion: "r6a" }]);
    const user = { role: "user", content: "Be kind?\n\nDraft." };
    expect(exampleToExportRows(example, { format: "openai-sft" })).toEqual([
      { messages: [user, { role: "assistant", content: "r6a" }] },
    ]);
    expect(exampleToExportRows(example, { format: "openai-dpo" })[1]).toEqual({
      input: { messages: [user] },
      preferred_output: [{ role: "assistant", content: "r6a" }],
      non_preferred_output: [{ role: "assistant", content: "r1" }],
    });
  });

  it("turns HH transcripts into turns and leaves other prompts as one message", () => {
    expect(promptToMessages("\n\nHuman: Hi\n\nAssistant: Hello.\n\nHuman: Help?\n\nAssistant:")).toEqual([
      { role: "user", content: "Hi" },
      { role: "assistant", content: "Hello." },
      { role: "user", content: "Help?" },
    ]);
    expect(promptToMessages("### Instruction:\nOnly this.\n\n### Response:")).toEqual([
      { role: "user", content: "Only this." },
    ]);
    expect(promptToMessages("Plain prompt")).toEqual([{ role: "user", content: "Plain prompt" }]);
  });

  it("names the known formats when given an unknown one", () => {
    expect(parseExportFormat("openai-dpo")).toBe("openai-dpo");
    expect(() => parseExportFormat("csv")).toThrow("known: sa, dpo, kto, sft, openai-sft, openai-dpo");
  });
});

describe("exportAlignmentData", () => {
  it("streams a data file into JSON Lines and counts examples without rows", async () => {
    const input = join(directory, "data.json");
    const single: AlignmentExample = { query: "q", responses: ["only"], scores: [6], models: ["m"], kind: "imitation" };
    writeFileSync(input, JSON.stringify([example, single], null, 2));
    const out = join(directory, "dpo.jsonl");
    const report = await exportAlignmentData({ input, format: "dpo", out });
    expect(report).toEqual({ out, format: "dpo", examples: 2, rows: 3, examplesWithoutRows: 1 });
    expect(readJsonLines(out)).toEqual(exampleToExportRows(example, { format: "dpo" }));
  });

  it("re-writes our own format as a JSON array and rejects crossed kto thresholds", async () => {
    const input = join(directory, "data.jsonl");
    writeFileSync(input, `${JSON.stringify({ ...example, extra: true })}\n`);
    const out = join(directory, "copy.json");
    await exportAlignmentData({ input, format: "sa", out });
    expect(JSON.parse(readFileSync(out, "utf8"))).toEqual([example]);
    await expect(
      exportAlignmentData({
        input,
        format: "kto",
        out: join(directory, "k.jsonl"),
        kto: { desirable: 3, undesirable: 3 },
      }),
    ).rejects.toThrow(ConfigError);
  });

  it("names the line and field of a bad example", async () => {
    const input = join(directory, "bad.json");
    writeFileSync(input, `[\n${JSON.stringify(example)},\n${JSON.stringify({ ...example, scores: [1, 2] })}\n]`);
    const error = await exportAlignmentData({ input, format: "sft", out: join(directory, "o.jsonl") }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toBe(`${input}:3: example field "scores" has 2 entries but responses has 5`);
  });
});
