import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { Command } from "commander";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { societyAnswer } from "../sandbox/test-support/scripted-society.js";
import { ConfigError, InputError } from "../spec/errors.js";
import type { InteractionRecord } from "../spec/interaction-record.js";
import { type FakeLlmRequest, type FakeLlmServer, startFakeLlmServer } from "../test-kit/fake-llm-server.js";
import { registerSimulateCommand } from "./simulate-command.js";

const binPath = fileURLToPath(new URL("../../bin/stable-alignment.js", import.meta.url));
let server: FakeLlmServer;
let respondHook: ((body: Record<string, unknown>) => Promise<void>) | undefined;
const savedEnvironment = { ...process.env };

beforeAll(async () => {
  server = await startFakeLlmServer({
    respond: async ({ body }) => {
      await respondHook?.(body);
      // Some peer ratings stay unreadable, so re-asks are part of what is resumed.
      return societyAnswer(body as never, {
        invalid: (kind, text) => kind === "peer-rating" && text.includes("agent 3,"),
      });
    },
  });
  process.env.STABLE_ALIGNMENT_CACHE = mkdtempSync(join(tmpdir(), "simulate-cache-"));
  // A closed port: any download attempt fails at once instead of reaching the network.
  process.env.HF_ENDPOINT = "http://127.0.0.1:9";
});
afterAll(async () => {
  await server.close();
  process.env = savedEnvironment;
});
afterEach(() => {
  vi.restoreAllMocks();
  respondHook = undefined;
});

const directory = () => mkdtempSync(join(tmpdir(), "simulate-"));
const modelFlags = () => {
  const spec = `openai:fake@${server.url}/v1`;
  return ["--agent-model", spec, "--observer-model", spec];
};

async function simulate(args: string[]): Promise<string> {
  const program = new Command("stable-alignment").exitOverride().option("--config <file>");
  program.configureOutput({ writeErr: () => {}, writeOut: () => {} });
  registerSimulateCommand(program);
  let output = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    output += String(chunk);
    return true;
  });
  try {
    await program.parseAsync(["node", "stable-alignment", "simulate", ...args]);
  } finally {
    vi.mocked(process.stdout.write).mockRestore();
  }
  return output;
}

const readRecords = (runDirectory: string): InteractionRecord[] =>
  readFileSync(join(runDirectory, "records.jsonl"), "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as InteractionRecord);
const withoutTimings = (records: InteractionRecord[]) => records.map(({ timings: _timings, ...rest }) => rest);

describe("simulate: bad input is refused before anything is written", () => {
  it("names the file and line of a bad question or prior file", async () => {
    const root = directory();
    const runDirectory = join(root, "run");
    const questions = join(root, "questions.jsonl");
    writeFileSync(questions, '{"question":"fine?"}\n{"q":"broken"}\n');
    await expect(simulate([...modelFlags(), "--run-dir", runDirectory, "--questions", questions])).rejects.toThrow(
      /questions\.jsonl:2: expected an object with a non-empty string field "question"/,
    );
    await expect(
      simulate([...modelFlags(), "--run-dir", runDirectory, "--questions", join(root, "none.txt")]),
    ).rejects.toThrow(InputError);
    const prior = join(root, "prior.jsonl");
    writeFileSync(prior, '{"question":"q","answer":"a","label":"good"}\n{"question":"q","answer":"b","label":"bad"}\n');
    await expect(simulate([...modelFlags(), "--run-dir", runDirectory, "--prior", prior])).rejects.toThrow(
      /prior\.jsonl: the prior has 1 (good|bad) pair\(s\) but each \w+ agent needs 50; lower --prior-size/,
    );
    expect(existsSync(runDirectory)).toBe(false);
  });

  it("says which parameter to change when global interaction cannot be met", async () => {
    const runDirectory = join(directory(), "run");
    await expect(
      simulate([
        ...modelFlags(),
        "--run-dir",
        runDirectory,
        "--size",
        "3",
        "--global",
        "--targets",
        "4",
        "--dropout",
        "0",
      ]),
    ).rejects.toThrow(/--targets 4 must exceed the 4 neighbours kept.*raise --targets or raise --dropout/);
    await expect(
      simulate([
        ...modelFlags(),
        "--run-dir",
        runDirectory,
        "--size",
        "3",
        "--global",
        "--targets",
        "8",
        "--dropout",
        "0.5",
      ]),
    ).rejects.toThrow(/lower --targets, lower --dropout or raise --size/);
    expect(existsSync(runDirectory)).toBe(false);
  });

  it("tells how to pass models when the default model cannot be fetched", async () => {
    const runDirectory = join(directory(), "run");
    const attempt = simulate(["--run-dir", runDirectory, "--size", "2", "--targets", "2"]);
    await expect(attempt).rejects.toThrow(ConfigError);
    await expect(simulate(["--run-dir", runDirectory, "--size", "2", "--targets", "2"])).rejects.toThrow(
      /default model hf:.* is not cached.*--agent-model <spec> --observer-model <spec>/,
    );
    expect(existsSync(runDirectory)).toBe(false);
  });
});

describe("simulate: output and resume from the run directory", () => {
  it("prints JSON lines, resumes with the stored flags, and refuses conflicting flags", async () => {
    const runDirectory = join(directory(), "run");
    const output = await simulate([
      ...modelFlags(),
      "--run-dir",
      runDirectory,
      "--size",
      "2",
      "--targets",
      "2",
      "--rounds",
      "1",
      "--json",
    ]);
    const lines = output
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { type: string; summary?: { interactions: number } });
    expect(lines.map((line) => line.type)).toEqual(["run-start", "round-start", "round-end", "run-end"]);
    expect(lines[2]?.summary?.interactions).toBe(4);
    for (const name of ["config.json", "records.jsonl", "run.sqlite"])
      expect(readdirSync(runDirectory)).toContain(name);
    // Only --rounds given: size, targets and models come from config.json.
    const table = await simulate(["--run-dir", runDirectory, "--rounds", "2"]);
    expect(table).toContain("resuming run");
    expect(table).toMatch(/round 1 +agents +align before/);
    expect(readRecords(runDirectory).map((record) => record.iteration)).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    const configBefore = readFileSync(join(runDirectory, "config.json"), "utf8");
    await expect(simulate(["--run-dir", runDirectory, "--setting", "all_bad"])).rejects.toThrow(
      /config\.json: the run directory holds a different simulation \(differs in world\.setting\)/,
    );
    expect(readFileSync(join(runDirectory, "config.json"), "utf8")).toBe(configBefore);
    await expect(simulate(["--run-dir", join(runDirectory, "missing"), "--resume"])).rejects.toThrow(/holds no run/);
  });
});

describe("simulate: budget", () => {
  it("stops cleanly at the budget and marks the run stopped, resumable", async () => {
    const runDirectory = join(directory(), "run");
    await expect(
      simulate([
        ...modelFlags(),
        "--run-dir",
        runDirectory,
        "--size",
        "2",
        "--targets",
        "2",
        "--rounds",
        "1",
        "--budget",
        "0",
      ]),
    ).rejects.toThrow(/budget of \$0\.0000 reached.*raise --budget/);
    const database = new Database(join(runDirectory, "run.sqlite"), { readonly: true });
    expect(database.prepare("SELECT status FROM runs").get()).toEqual({ status: "stopped" });
    database.close();
    await simulate([
      ...modelFlags(),
      "--run-dir",
      runDirectory,
      "--size",
      "2",
      "--targets",
      "2",
      "--rounds",
      "1",
      "--json",
    ]);
    expect(readRecords(runDirectory)).toHaveLength(4);
  });
});

describe("simulate: interrupted", () => {
  it("stops on SIGINT with a resume hint and marks the run stopped", { timeout: 120_000 }, async () => {
    const runDirectory = join(directory(), "run");
    const child = spawn(
      process.execPath,
      [binPath, "simulate", ...modelFlags(), "--run-dir", runDirectory, "--size", "3", "--rounds", "2", "--json"],
      {
        env: {
          PATH: process.env.PATH ?? "",
          HOME: process.env.HOME ?? "",
          STABLE_ALIGNMENT_CACHE: process.env.STABLE_ALIGNMENT_CACHE ?? "",
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
    let calls = 0;
    respondHook = async () => {
      calls += 1;
      if (calls === 20) child.kill("SIGINT");
    };
    expect(await exited).toBe(1);
    expect(stderr).toMatch(/stopped; rerun with --run-dir .*run to resume/);
    const database = new Database(join(runDirectory, "run.sqlite"), { readonly: true });
    expect(database.prepare("SELECT status FROM runs").get()).toEqual({ status: "stopped" });
    database.close();
  });
});

describe("simulate --interactions-in-flight", () => {
  it("bounds the interactions of a round in flight, so at most one interaction's calls are open at once", async () => {
    let open = 0;
    let mostOpen = 0;
    respondHook = async () => {
      open += 1;
      mostOpen = Math.max(mostOpen, open);
      await new Promise((resolve) => setTimeout(resolve, 5));
      open -= 1;
    };
    const run = async (extra: string[]) => {
      mostOpen = 0;
      const args = ["--size", "3", "--targets", "2", "--rounds", "1", "--json", ...extra];
      await simulate([...modelFlags(), "--run-dir", join(directory(), "run"), ...args]);
      return mostOpen;
    };
    // One interaction's widest step: the observer's two ratings and the two peer ratings at once.
    expect(await run(["--interactions-in-flight", "1"])).toBe(4);
    // By default all 9 interactions of the round start together.
    expect(await run([])).toBeGreaterThan(4);
    await expect(run(["--interactions-in-flight", "0"])).rejects.toThrow(/--interactions-in-flight/);
  });
});

describe("simulate: killed and resumed", () => {
  it("SIGKILLed mid-round, resumes to the same records, sending only calls not already answered", {
    timeout: 240_000,
  }, async () => {
    const root = directory();
    const args = (runDirectory: string) => [
      binPath,
      "simulate",
      ...modelFlags(),
      "--run-dir",
      runDirectory,
      "--size",
      "3",
      "--rounds",
      "2",
      "--seed",
      "5",
      "--json",
    ];
    const environment = {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      STABLE_ALIGNMENT_CACHE: process.env.STABLE_ALIGNMENT_CACHE ?? "",
    };
    const run = (runDirectory: string) => {
      const child = spawn(process.execPath, args(runDirectory), {
        env: environment,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
        stderr += chunk;
      });
      const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
        child.once("close", (code, signal) => resolve({ code, signal })),
      );
      return { child, exited, stderr: () => stderr };
    };
    const generateRequests = (requests: FakeLlmRequest[]) =>
      requests.filter((request) => request.path !== "/v1/embeddings");
    const bodyKey = (request: FakeLlmRequest) => JSON.stringify(request.body);

    // 1. Uninterrupted reference run.
    const reference = join(root, "reference");
    const referenceStart = server.requests.length;
    const first = run(reference);
    expect((await first.exited).code, first.stderr()).toBe(0);
    const referenceRequests = generateRequests(server.requests.slice(referenceStart));

    // 2. The same run, killed with calls in flight once some steps are persisted.
    const killed = join(root, "killed");
    const killedStart = server.requests.length;
    const victim = run(killed);
    let answeredBeforeKill: FakeLlmRequest[] = [];
    let release: () => void = () => {};
    const frozen = new Promise<void>((resolve) => {
      release = resolve;
    });
    let generateCount = 0;
    let killing = false;
    respondHook = async () => {
      generateCount += 1;
      if (killing) return frozen;
      if (generateCount !== 60) return;
      killing = true;
      // Hold every answer, wait until the client has stored all answers it got, then kill it.
      const database = new Database(join(killed, "run.sqlite"), { readonly: true, fileMustExist: true });
      const ours = () => generateRequests(server.requests.slice(killedStart));
      for (let waited = 0; waited < 200; waited += 1) {
        const answered = ours().filter((request) => request.respondedAt !== undefined).length;
        const cached = (database.prepare("SELECT COUNT(*) AS n FROM lm_responses").get() as { n: number }).n;
        if (cached === answered) break;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      const steps = (database.prepare("SELECT COUNT(*) AS n FROM simulation_steps").get() as { n: number }).n;
      database.close();
      expect(steps).toBeGreaterThan(0);
      answeredBeforeKill = ours().filter((request) => request.respondedAt !== undefined);
      const inFlight = ours().filter((request) => request.respondedAt === undefined);
      expect(inFlight.length).toBeGreaterThan(1);
      victim.child.kill("SIGKILL");
      await victim.exited;
      release();
    };
    expect((await victim.exited).signal).toBe("SIGKILL");
    respondHook = undefined;

    // 3. Resume: the same command again.
    const resumeStart = server.requests.length;
    const resumed = run(killed);
    expect((await resumed.exited).code, resumed.stderr()).toBe(0);
    const resumedRequests = generateRequests(server.requests.slice(resumeStart));

    expect(withoutTimings(readRecords(killed))).toEqual(withoutTimings(readRecords(reference)));
    const keys = readRecords(killed).map((record) => `${record.iteration}/${record.agent_id}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toHaveLength(18);
    // Answered before the kill + sent after it = the reference run's calls, as a multiset of requests.
    expect(resumedRequests.length).toBe(referenceRequests.length - answeredBeforeKill.length);
    const sorted = (requests: FakeLlmRequest[]) => requests.map(bodyKey).sort();
    expect(sorted([...answeredBeforeKill, ...resumedRequests])).toEqual(sorted(referenceRequests));
  });
});
