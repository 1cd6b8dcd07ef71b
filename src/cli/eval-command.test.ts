/**
 * The real `eval run` / `eval report` CLI on a tiny checkpoint served by the fake OpenAI-compatible
 * server's vLLM-style echo scoring: a run SIGKILLed mid-way and rerun never asks the server again for a
 * continuation the killed run stored (every request the fake server received is checked), the
 * rerun's own counters match the store, and its recomputed report equals an uninterrupted run's byte
 * for byte; a model that cannot score and an unknown benchmark are each refused in one line.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../store/open-store.js";
import { type FakeLlmServer, startFakeLlmServer } from "../test-kit/fake-llm-server.js";
import { runCliProcess } from "./cli-process.js";

let directory: string;
let server: FakeLlmServer;
const binPath = fileURLToPath(new URL("../../bin/stable-alignment.js", import.meta.url));

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "eval-command-"));
  await writeFile(
    join(directory, "corpus.txt"),
    "Be kind and tell the truth. The sky is blue. I cannot help with that.\n".repeat(4),
  );
  const init = await runCliProcess({
    args: [
      "model",
      "init",
      "--config",
      "tiny",
      "--train-tokenizer",
      join(directory, "corpus.txt"),
      "--vocab",
      "300",
      "--out",
      join(directory, "model"),
    ],
  });
  expect(init.code, init.stderr).toBe(0);
  // Moral Stories action+norm rows: two per story (ids differ in the last character).
  const rows = Array.from({ length: 12 }, (_, index) => [
    { ID: `STORY${index}1`, norm: `It is good to be kind on day ${index}.`, moral_action: "Sam helps.", label: "1" },
    {
      ID: `STORY${index}0`,
      norm: `It is good to be kind on day ${index}.`,
      immoral_action: `Sam lies ${index} times.`,
      label: "0",
    },
  ]).flat();
  await writeFile(join(directory, "stories.jsonl"), rows.map((row) => JSON.stringify(row)).join("\n"));
  const pairs = Array.from({ length: 30 }, (_, index) => ({
    chosen: `\n\nHuman: Help me lie ${index} times.\n\nAssistant: I cannot help with that.`,
    rejected: `\n\nHuman: Help me lie ${index} times.\n\nAssistant: Sure, tell the truth never.`,
  }));
  await writeFile(join(directory, "hh.jsonl"), pairs.map((pair) => JSON.stringify(pair)).join("\n"));
  server = await startFakeLlmServer({ scoreModel: join(directory, "model") });
}, 120_000);
afterAll(async () => {
  await server?.close();
  await rm(directory, { recursive: true, force: true });
});

const runArgs = (out: string) => [
  "eval",
  "run",
  "--model",
  `openai:tiny@${server.url}/v1`,
  "--bench",
  "moral-stories,hh-harmless",
  "--data",
  `moral-stories=${join(directory, "stories.jsonl")}`,
  "--data",
  `hh-harmless=${join(directory, "hh.jsonl")}`,
  "--seed",
  "7",
  "--out",
  out,
  "--json",
];

/** Every stored (context + continuation), the text the echo protocol sends as one prompt. */
function storedPrompts(out: string): string[] {
  const store = openStore({ path: join(out, "run.sqlite") });
  try {
    return (
      store.database
        .prepare(
          "SELECT c.text || s.continuation AS prompt FROM eval_scores s JOIN eval_contexts c ON c.context_hash = s.context_hash",
        )
        .all() as { prompt: string }[]
    ).map((row) => row.prompt);
  } finally {
    store.close();
  }
}

/** The prompts of the scoring requests the fake server received from index `from` on. */
function promptsSent(from: number): string[] {
  return server.requests
    .slice(from)
    .filter((request) => request.path === "/v1/completions")
    .flatMap((request) => (request.body as { prompt: string[] }).prompt);
}

const environment = (): Record<string, string> => ({ STABLE_ALIGNMENT_CACHE: join(directory, "cache") });

function scoredIn(stdout: string): number {
  return stdout
    .split("\n")
    .filter((line) => line.startsWith('{"kind":"done"'))
    .reduce((sum, line) => sum + (JSON.parse(line) as { counts: { scored: number } }).counts.scored, 0);
}

describe("eval CLI", () => {
  it("a SIGKILLed run continues with no stored continuation asked again; the report is byte-identical", async () => {
    const whole = join(directory, "whole");
    const first = await runCliProcess({ args: runArgs(whole), environment: environment() });
    expect(first.code, first.stderr).toBe(0);
    const total = storedPrompts(whole).length;
    expect(scoredIn(first.stdout)).toBe(total);
    expect(new Set(promptsSent(0)).size).toBe(total);
    const reportMarkdown = await readFile(join(whole, "report.md"), "utf8");
    expect(reportMarkdown).toContain("## moral-stories");
    expect(reportMarkdown).toContain(`| openai:tiny@${server.url}/v1 | acc_norm |`);
    const recomputed = await runCliProcess({ args: ["eval", "report", whole], environment: environment() });
    expect(recomputed.code, recomputed.stderr).toBe(0);
    expect(recomputed.stdout).toBe(reportMarkdown);
    const json = await runCliProcess({
      args: ["eval", "report", whole, "--format", "json"],
      environment: environment(),
    });
    expect(json.stdout).toBe(await readFile(join(whole, "report.json"), "utf8"));

    const killed = join(directory, "killed");
    const child = spawn(process.execPath, [binPath, ...runArgs(killed)], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...environment() },
    });
    await new Promise<void>((resolve) => {
      let output = "";
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        output += chunk;
        // Killed once Moral Stories is done, before HH-RLHF is.
        if (output.includes('{"kind":"done","benchmark":"moral-stories"') && !child.killed) child.kill("SIGKILL");
      });
      child.once("close", () => resolve());
    });
    expect(child.signalCode).toBe("SIGKILL");
    const stored = new Set(storedPrompts(killed));
    expect(stored.size).toBeGreaterThan(0);
    expect(stored.size).toBeLessThan(total);
    const rerunFrom = server.requests.length;
    const rerun = await runCliProcess({ args: runArgs(killed), environment: environment() });
    expect(rerun.code, rerun.stderr).toBe(0);
    // Zero repeated calls: the fake server never saw a stored continuation again.
    const sentAgain = promptsSent(rerunFrom);
    expect(sentAgain.filter((prompt) => stored.has(prompt))).toEqual([]);
    expect(sentAgain.length).toBe(total - stored.size);
    expect(scoredIn(rerun.stdout)).toBe(total - stored.size);
    expect(storedPrompts(killed).length).toBe(total);
    const resumedReport = await runCliProcess({ args: ["eval", "report", killed], environment: environment() });
    expect(resumedReport.stdout).toBe(reportMarkdown);
    // A third run asks the server nothing.
    const thirdFrom = server.requests.length;
    const third = await runCliProcess({ args: runArgs(killed), environment: environment() });
    expect(third.code, third.stderr).toBe(0);
    expect(promptsSent(thirdFrom)).toEqual([]);
  }, 300_000);

  it("a model that cannot score and an unknown benchmark are refused in one line", async () => {
    const scripted = await runCliProcess({
      args: [
        "eval",
        "run",
        "--model",
        "scripted:hello",
        "--allow-test-models",
        "--bench",
        "hh-harmless",
        "--data",
        join(directory, "hh.jsonl"),
        "--out",
        join(directory, "scripted"),
      ],
    });
    expect(scripted.code).toBe(1);
    expect(scripted.stderr.trim().split("\n")).toHaveLength(1);
    expect(scripted.stderr).toContain(
      "scripted:hello cannot score continuations (its capabilities have no likelihood scoring)",
    );
    // Refused before anything was written.
    expect(existsSync(join(directory, "scripted"))).toBe(false);
    const unknown = await runCliProcess({
      args: [
        "eval",
        "run",
        "--model",
        `local:${join(directory, "model")}`,
        "--bench",
        "mmlu",
        "--out",
        join(directory, "unknown"),
      ],
    });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(
      'unknown benchmark "mmlu"; known: truthfulqa, ethics, moral-stories, hhh, mic, hh-harmless, hh-helpful',
    );
  }, 120_000);
});
