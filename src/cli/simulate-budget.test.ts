/**
 * `simulate` against a paid, slow, unreliable endpoint: the budget holds at concurrency 16 and across
 * a resume, the reported spend is the ledger's, and garbled 200 bodies are retried, counted by cause.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { Command } from "commander";
import { afterEach, describe, expect, it, vi } from "vitest";
import { estimatePromptTokens } from "../llm/middleware/usage-meter.js";
import { societyAnswer } from "../sandbox/test-support/scripted-society.js";
import { BudgetExceededError } from "../spec/errors.js";
import type { GenerateRequest, LanguageModel } from "../spec/language-model.js";
import { type FakeLlmServer, type FakeLlmServerOptions, startFakeLlmServer } from "../test-kit/fake-llm-server.js";
import { registerSimulateCommand } from "./simulate-command.js";

const servers: FakeLlmServer[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function societyServer(options: FakeLlmServerOptions = {}): Promise<FakeLlmServer> {
  const server = await startFakeLlmServer({
    respond: ({ body }) => societyAnswer(body as never),
    ...options,
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

function runFlags(server: FakeLlmServer, root: string, config: string): string[] {
  const configPath = join(root, "config.yaml");
  writeFileSync(configPath, config);
  const spec = `openai:fake@${server.url}/v1`;
  return ["--config", configPath, "--agent-model", spec, "--observer-model", spec, "--run-dir", join(root, "run")];
}

function ledgerSpend(root: string): number {
  const database = new Database(join(root, "run", "run.sqlite"), { readonly: true });
  try {
    return (database.prepare("SELECT COALESCE(SUM(cost_usd), 0) AS spent FROM lm_usage").get() as { spent: number })
      .spent;
  } finally {
    database.close();
  }
}

/** The most any request the server saw could have cost, by the meter's own estimate, at `pricePerToken`. */
function largestReservation(server: FakeLlmServer, pricePerToken: number): number {
  const model = { modelId: "estimate" } as LanguageModel;
  let largest = 0;
  for (const { body } of server.requests) {
    const fields = body as {
      messages: GenerateRequest["messages"];
      max_tokens: number;
      response_format?: { json_schema: { schema: Record<string, unknown> } };
    };
    const request = {
      messages: fields.messages ?? [],
      ...(fields.response_format === undefined
        ? {}
        : { responseFormat: { type: "json-schema", name: "r", schema: fields.response_format.json_schema.schema } }),
    } as GenerateRequest;
    largest = Math.max(largest, (estimatePromptTokens(model, request) + fields.max_tokens) * pricePerToken);
  }
  return largest;
}

async function budgetStop(args: string[]): Promise<BudgetExceededError> {
  const error = await simulate(args).catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(BudgetExceededError);
  return error as BudgetExceededError;
}

describe("simulate --budget", () => {
  it("never passes the cap at concurrency 16 with latency, reports the ledger's spend, and holds across a resume", async () => {
    const server = await societyServer({ latencyMs: 15 });
    const root = mkdtempSync(join(tmpdir(), "simulate-budget-"));
    // $100 per million tokens, as in the issue: a call costs a few cents.
    const flags = runFlags(server, root, "prices:\n  fake: { prompt: 100, completion: 100 }\n");
    const run = [...flags, "--size", "4", "--rounds", "3", "--concurrency", "16", "--budget", "0.5"];

    const stopped = await budgetStop(run);
    const ledger = ledgerSpend(root);
    const reservation = largestReservation(server, 100 / 1_000_000);
    // Calls wait for room rather than being refused while others hold reservations: the run uses its budget.
    expect(ledger).toBeGreaterThan(0.3);
    expect(ledger).toBeLessThanOrEqual(0.5 + reservation);
    expect(stopped.message).toContain(`spent $${ledger.toFixed(4)}`);
    expect(stopped.spentUsd).toBeCloseTo(ledger, 9);

    // Resuming with the same budget starts from the ledger: it cannot spend another $0.50.
    const resumed = await budgetStop([...run, "--resume"]);
    const afterResume = ledgerSpend(root);
    expect(afterResume).toBeLessThanOrEqual(0.5 + reservation);
    expect(resumed.message).toContain(`spent $${afterResume.toFixed(4)}`);
  });
});

describe("simulate against an endpoint that garbles 20% of its answers", () => {
  it("retries truncated and non-JSON 200 bodies, 5xx and 429, finishes, and counts retries by cause", async () => {
    const server = await societyServer({
      randomFaults: {
        probability: 0.2,
        seed: 11,
        faults: [
          { type: "truncated" },
          { type: "malformed" },
          { type: "server-error", status: 503 },
          { type: "rate-limit", retryAfter: "0" },
        ],
      },
    });
    const root = mkdtempSync(join(tmpdir(), "simulate-faults-"));
    // Ten attempts make five faults in a row on one call (p = 0.2^10) practically impossible.
    const flags = runFlags(server, root, "endpoints:\n  maxAttempts: 10\n");
    const output = await simulate([...flags, "--size", "3", "--rounds", "1", "--concurrency", "16"]);

    const done = output.split("\n").find((line) => line.startsWith("done: 1 round(s)"));
    expect(done).toBeDefined();
    const database = new Database(join(root, "run", "run.sqlite"), { readonly: true });
    const rows = database.prepare("SELECT cause, COUNT(*) AS retries FROM lm_retries GROUP BY cause").all() as {
      cause: string;
      retries: number;
    }[];
    const answered = (
      database.prepare("SELECT COUNT(*) AS calls FROM lm_usage WHERE cached = 0").get() as { calls: number }
    ).calls;
    database.close();
    const counts = Object.fromEntries(rows.map((row) => [row.cause, row.retries]));
    expect(counts["bad-body"]).toBeGreaterThan(0);
    const total = rows.reduce((sum, row) => sum + row.retries, 0);
    const sent = server.requests.filter((request) => request.path.endsWith("/completions")).length;
    // Each faulted request was retried once and nothing else was: requests = answered calls + retries.
    expect(total).toBe(sent - answered);
    expect(total).toBeGreaterThan(sent * 0.1);
    expect(done).toContain(`${total} retries (`);
    expect(done).toContain(`bad body ${counts["bad-body"]}`);
  });
});
