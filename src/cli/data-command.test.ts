import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { makeRecord, toJsonLines } from "../data/__fixtures__/interaction-record-fixture.js";
import { REFERENCE_SCENARIO, writeReferenceRun } from "../data/__fixtures__/reference-run-fixture.js";
import type { AlignmentExample } from "../spec/alignment-data.js";
import { ConfigError, InputError } from "../spec/errors.js";
import { writeTinyByteModel } from "../test-kit/tiny-gguf-model.js";
import { registerDataCommand } from "./data-command.js";

let directory: string;
let printed: string[];
beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), "cli-data-"));
  printed = [];
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    printed.push(String(chunk));
    return true;
  });
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(directory, { recursive: true, force: true });
});

async function run(...args: string[]): Promise<string> {
  const program = new Command("stable-alignment").option("--config <file>").exitOverride();
  registerDataCommand(program);
  // A config file of our own, so a developer's ./stable-alignment.config.yaml never changes the result.
  const config = join(directory, "config.yaml");
  writeFileSync(config, "{}\n");
  printed = [];
  await program.parseAsync(["--config", config, "data", ...args], { from: "user" });
  return printed.join("");
}

describe("stable-alignment data", () => {
  it("build -> stats -> export: prints the report and writes each file", async () => {
    const runDirectory = join(directory, "run");
    mkdirSync(runDirectory);
    const invalid = makeRecord({ question: "Q2", feedback: [null, "Nice."], rating: [null, 6] });
    writeFileSync(join(runDirectory, "records.jsonl"), toJsonLines([makeRecord(), invalid]));
    const out = join(directory, "data.json");
    const report = await run("build", "--run", runDirectory, "--out", out, "--mix", "all");
    expect(report).toContain("2 records from 1 file(s); mix all, seed 0, templates v1");
    expect(report).toMatch(/self-critic\s+4\s+1\s+3\s+2\s+2\s+3/);
    expect(report).toMatch(/dropped responses by reason\nkind\s+invalid-peer-rating/);
    expect(report).toContain(`wrote 6 examples (10 responses) to ${out}`);
    const examples = JSON.parse(readFileSync(out, "utf8")) as AlignmentExample[];
    expect(examples).toHaveLength(6);

    const stats = await run("stats", out);
    expect(stats).toMatch(/imitation\s+2\s+4\s+2\n/);
    expect(stats).toContain("token lengths (approximate (words and punctuation))");

    const json = JSON.parse(await run("build", "--run", runDirectory, "--out", out, "--kinds", "imitation", "--json"));
    expect(json.kinds.imitation.writtenExamples).toBe(2);
    expect(json.kinds["self-critic"].candidates).toBe(0);

    const dpo = join(directory, "dpo.jsonl");
    expect(await run("export", "--in", out, "--format", "dpo", "--out", dpo)).toBe(
      `wrote 2 dpo rows from 2 examples to ${dpo}\n`,
    );
    expect(readFileSync(dpo, "utf8").trim().split("\n")).toHaveLength(2);
  });

  it("import hh-rlhf, then export openai-dpo", async () => {
    const input = join(directory, "hh.jsonl");
    writeFileSync(
      input,
      `${JSON.stringify({ chosen: "\n\nHuman: Hi?\n\nAssistant: Hello.", rejected: "\n\nHuman: Hi?\n\nAssistant: Go away." })}\n`,
    );
    const out = join(directory, "hh.json");
    expect(await run("import", "--format", "hh-rlhf", input, "--out", out, "--rejected-score", "2")).toBe(
      `read 1, wrote 1 examples (2 responses) to ${out}\n`,
    );
    const openai = join(directory, "openai.jsonl");
    await run("export", "--in", out, "--format", "openai-dpo", "--out", openai);
    expect(JSON.parse(readFileSync(openai, "utf8"))).toEqual({
      input: { messages: [{ role: "user", content: "Hi?" }] },
      preferred_output: [{ role: "assistant", content: "Hello." }],
      non_preferred_output: [{ role: "assistant", content: "Go away." }],
    });
  });

  it("build and import --format sandbox-records read the reference implementation's run folder", async () => {
    const runDirectory = writeReferenceRun(join(directory, "reference"), REFERENCE_SCENARIO);
    const built = join(directory, "built.json");
    const report = await run("build", "--run", runDirectory, "--out", built, "--mix", "all");
    expect(report).toContain("4 records from 3 file(s); mix all");
    expect(report).toMatch(/imitation\s+8\s+2\s+6\s+3\s+3\s+6\n/);
    expect(report).toContain(`wrote 7 examples (13 responses) to ${built}`);
    const imported = join(directory, "imported.json");
    expect(await run("import", "--format", "sandbox-records", runDirectory, "--out", imported)).toBe(
      `read 4, wrote 7 examples (13 responses) to ${imported}; skipped: imitation invalid-observer-rating 1, ` +
        "imitation duplicate 1, self-critic invalid-peer-rating 3, self-critic duplicate 1, " +
        "realignment invalid-observer-rating 3, realignment not-improved 2, realignment score-after-too-low 2\n",
    );
    expect(readFileSync(imported, "utf8")).toBe(readFileSync(built, "utf8"));
  });

  it("counts tokens with a GGUF vocabulary when --tokenizer is given", async () => {
    const model = await writeTinyByteModel({ path: join(directory, "tiny.gguf") });
    const file = join(directory, "data.jsonl");
    // The tiny model has one token per UTF-8 byte: "\u00e9" is two.
    writeFileSync(
      file,
      JSON.stringify({
        query: "abc",
        responses: ["\u00e9", "hello"],
        scores: [1, 7],
        models: ["m", "m"],
        kind: "imitation",
      }),
    );
    const stats = JSON.parse(await run("stats", file, "--tokenizer", model, "--json"));
    expect(stats.tokenizer).toBe("tiny.gguf tokenizer");
    expect(stats.total.responseTokens).toMatchObject({ count: 2, p50: 2, max: 5 });
    expect(stats.total.promptTokens.max).toBe(3);
  });

  it("rejects bad flags as usage errors and bad files with InputError", async () => {
    const out = join(directory, "x.json");
    await expect(run("build", "--out", out)).rejects.toThrow(ConfigError);
    // Bad flag values are refused while the command line is parsed (commander's invalid-argument error: exit 2).
    const usage = { code: "commander.invalidArgument" };
    const badKinds = run("build", "--run", directory, "--out", out, "--kinds", "imitation,critique");
    await expect(badKinds).rejects.toMatchObject(usage);
    await expect(badKinds).rejects.toThrow('--kinds: unknown kind "critique"');
    const badMix = run("build", "--run", directory, "--out", out, "--mix", "5:1");
    await expect(badMix).rejects.toMatchObject(usage);
    await expect(badMix).rejects.toThrow(/--mix must be/);
    await expect(run("stats", join(directory, "missing.json"))).rejects.toThrow(InputError);
  });
});
