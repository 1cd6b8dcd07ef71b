/**
 * `simulate --estimate` against real runs on the fake server with unreadable ratings and faults:
 * calibrated from an earlier run of another seed, calls, tokens and dollars land within 10% of the
 * new run's ledger; a plateau run ends inside the estimated range; a resume estimates only what is
 * left; the estimate calls no model and writes nothing.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { Command } from "commander";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { SimulationEstimate } from "../sandbox/simulation-estimate.js";
import { societyAnswer } from "../sandbox/test-support/scripted-society.js";
import { UsageError } from "../spec/errors.js";
import { type FakeLlmServer, startFakeLlmServer } from "../test-kit/fake-llm-server.js";
import { registerSimulateCommand } from "./simulate-command.js";

const servers: FakeLlmServer[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** One rating prompt in eight is never answered readably, re-asks included; 10% of requests fault. */
async function unreliableServer(): Promise<FakeLlmServer> {
  const server = await startFakeLlmServer({
    respond: ({ body }) =>
      societyAnswer(body as never, {
        invalid: (_kind, text) => createHash("sha256").update(text).digest().readUInt8(0) % 8 === 0,
      }),
    randomFaults: {
      probability: 0.1,
      seed: 5,
      faults: [
        { type: "truncated" },
        { type: "malformed" },
        { type: "server-error", status: 503 },
        { type: "rate-limit", retryAfter: "0" },
      ],
    },
  });
  servers.push(server);
  return server;
}

/** Runs `simulate` in process; resolves to its stdout. */
async function simulate(args: string[]): Promise<string> {
  const program = new Command("stable-alignment").exitOverride().option("--config <file>");
  program.configureOutput({ writeErr: () => {}, writeOut: () => {} });
  registerSimulateCommand(program);
  let output = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    output += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  try {
    await program.parseAsync(["node", "stable-alignment", "simulate", ...args]);
  } finally {
    vi.mocked(process.stdout.write).mockRestore();
    vi.mocked(process.stderr.write).mockRestore();
  }
  return output;
}

/** Flags shared by every run: the fake server as agent and observer at $100/$200 per million tokens. */
function commonFlags(server: FakeLlmServer, root: string): string[] {
  const configPath = join(root, "config.yaml");
  writeFileSync(configPath, "prices:\n  fake: { prompt: 100, completion: 200 }\nendpoints:\n  maxAttempts: 10\n");
  const spec = `openai:fake@${server.url}/v1`;
  return ["--config", configPath, "--agent-model", spec, "--observer-model", spec, "--concurrency", "16"];
}

async function estimate(args: string[]): Promise<SimulationEstimate> {
  const output = await simulate([...args, "--estimate", "--json"]);
  const line = output.trim().split("\n").at(-1) as string;
  const parsed = JSON.parse(line) as SimulationEstimate & { type: string };
  expect(parsed.type).toBe("estimate");
  return parsed;
}

interface Ledger {
  /** Answered calls plus retried requests. */
  requests: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

function ledger(runDirectory: string): Ledger {
  const database = new Database(join(runDirectory, "run.sqlite"), { readonly: true });
  try {
    const usage = database
      .prepare(
        "SELECT COUNT(*) AS calls, SUM(prompt_tokens) AS prompt, SUM(completion_tokens) AS completion, SUM(cost_usd) AS cost FROM lm_usage WHERE cached = 0",
      )
      .get() as { calls: number; prompt: number; completion: number; cost: number };
    const retries = (database.prepare("SELECT COUNT(*) AS retries FROM lm_retries").get() as { retries: number })
      .retries;
    return {
      requests: usage.calls + retries,
      promptTokens: usage.prompt,
      completionTokens: usage.completion,
      costUsd: usage.cost,
    };
  } finally {
    database.close();
  }
}

const within = (estimated: number, actual: number, share: number) =>
  expect(Math.abs(estimated - actual) / actual).toBeLessThanOrEqual(share);

describe("simulate --estimate", () => {
  it("calibrated from another seed's run, estimates calls, tokens and USD within 10% of the ledger, without calling a model", async () => {
    const server = await unreliableServer();
    const root = mkdtempSync(join(tmpdir(), "simulate-estimate-"));
    const flags = [...commonFlags(server, root), "--size", "4", "--rounds", "2"];
    const earlier = join(root, "earlier");
    await simulate([...flags, "--seed", "1", "--run-dir", earlier]);
    const earlierLedger = ledger(earlier);
    // The injected faults and unreadable ratings happened: retries and re-asks are part of the test.
    const retried = new Database(join(earlier, "run.sqlite"), { readonly: true });
    expect((retried.prepare("SELECT COUNT(*) AS n FROM lm_retries").get() as { n: number }).n).toBeGreaterThan(10);
    retried.close();

    const target = join(root, "target");
    const run = [...flags, "--seed", "2", "--run-dir", target];
    const requestsBefore = server.requests.length;
    const estimated = await estimate([...run, "--estimate-from", earlier]);
    expect(server.requests.length).toBe(requestsBefore);
    expect(existsSync(target)).toBe(false);
    expect(estimated.profile.source).toBe("measured");
    expect(estimated.low).toEqual(estimated.high);
    expect(estimated.high.rounds).toBe(2);
    expect(estimated.high.chat.reAsks).toBeGreaterThan(0);
    expect(estimated.high.chat.retries).toBeGreaterThan(0);

    await simulate(run);
    const actual = ledger(target);
    within(estimated.high.chat.requests, actual.requests, 0.1);
    within(estimated.high.chat.promptTokens, actual.promptTokens, 0.1);
    within(estimated.high.chat.completionTokens, actual.completionTokens, 0.1);
    within(estimated.high.costUsd, actual.costUsd, 0.1);
    // The earlier run is a different society: the estimate is not just a copy of its ledger.
    expect(earlierLedger.promptTokens).not.toBe(actual.promptTokens);
  });

  it("with --until-plateau gives a range of rounds, and the real run falls inside it", async () => {
    const server = await unreliableServer();
    const root = mkdtempSync(join(tmpdir(), "simulate-estimate-plateau-"));
    const flags = [...commonFlags(server, root), "--size", "3"];
    const earlier = join(root, "earlier");
    await simulate([...flags, "--rounds", "2", "--seed", "3", "--run-dir", earlier]);

    const target = join(root, "target");
    const run = [...flags, "--until-plateau", "--rounds", "8", "--seed", "4", "--run-dir", target];
    const estimated = await estimate([...run, "--estimate-from", earlier]);
    expect(estimated.low.rounds).toBe(3);
    expect(estimated.high.rounds).toBe(8);
    expect(estimated.low.chat.calls).toBeLessThan(estimated.high.chat.calls);

    const output = await simulate(run);
    const rounds = Number(/done: (\d+) round\(s\)/.exec(output)?.[1]);
    expect(rounds).toBeGreaterThanOrEqual(estimated.low.rounds);
    expect(rounds).toBeLessThanOrEqual(estimated.high.rounds);
    const actual = ledger(target);
    for (const [low, high, value] of [
      [estimated.low.chat.requests, estimated.high.chat.requests, actual.requests],
      [estimated.low.chat.promptTokens, estimated.high.chat.promptTokens, actual.promptTokens],
      [estimated.low.costUsd, estimated.high.costUsd, actual.costUsd],
    ] as const) {
      expect(value).toBeGreaterThanOrEqual(low * 0.9);
      expect(value).toBeLessThanOrEqual(high * 1.1);
    }
  });

  it("with --resume estimates only the rounds left, measured from the run itself", async () => {
    const server = await unreliableServer();
    const root = mkdtempSync(join(tmpdir(), "simulate-estimate-resume-"));
    const flags = [...commonFlags(server, root), "--size", "3", "--seed", "6", "--run-dir", join(root, "run")];
    await simulate([...flags, "--rounds", "2"]);
    const before = ledger(join(root, "run"));

    const estimated = await estimate([...flags, "--rounds", "4", "--resume"]);
    expect(estimated.completedRounds).toBe(2);
    expect(estimated.high.rounds).toBe(2);
    expect(estimated.profile.source).toBe("measured");
    // Nothing was written: the run still has its two rounds' ledger.
    expect(ledger(join(root, "run"))).toEqual(before);

    await simulate([...flags, "--rounds", "4", "--resume"]);
    const after = ledger(join(root, "run"));
    within(estimated.high.chat.requests, after.requests - before.requests, 0.1);
    within(estimated.high.chat.promptTokens, after.promptTokens - before.promptTokens, 0.1);
    within(estimated.high.costUsd, after.costUsd - before.costUsd, 0.1);
  });

  it("without earlier runs prints the stated defaults as such; a directory without a run is a usage error", async () => {
    const server = await unreliableServer();
    const root = mkdtempSync(join(tmpdir(), "simulate-estimate-defaults-"));
    const flags = [...commonFlags(server, root), "--size", "3", "--rounds", "2", "--run-dir", join(root, "run")];
    const output = await simulate([...flags, "--estimate"]);
    expect(output).toContain("estimate (no model called, nothing written): 2 round(s)");
    expect(output).toContain("assumed, stated defaults, no earlier run measured");
    expect(output).toMatch(/chat calls\s+\d/);
    expect(output).toMatch(/cost\s+\$\d/);
    expect(server.requests).toHaveLength(0);

    const error = await simulate([...flags, "--estimate", "--estimate-from", join(root, "nowhere")]).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toContain(`--estimate-from ${join(root, "nowhere")}: no run.sqlite there`);
  });
});
