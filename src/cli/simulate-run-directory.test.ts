/**
 * `simulate` and its run directory, through real CLI processes: one process per run directory
 * (the run lock), stale locks taken over, and unusable run directories refused in one line.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { societyAnswer } from "../sandbox/test-support/scripted-society.js";
import type { InteractionRecord } from "../spec/interaction-record.js";
import { RUN_LOCK_FILE_NAME } from "../store/run-lock.js";
import { type FakeLlmServer, startFakeLlmServer } from "../test-kit/fake-llm-server.js";
import { runCliProcess } from "./cli-process.js";

const binPath = fileURLToPath(new URL("../../bin/stable-alignment.js", import.meta.url));
let server: FakeLlmServer;
let respondHook: (() => Promise<void>) | undefined;
let environment: Record<string, string>;

beforeAll(async () => {
  server = await startFakeLlmServer({
    respond: async ({ body }) => {
      await respondHook?.();
      return societyAnswer(body as never);
    },
  });
  environment = {
    STABLE_ALIGNMENT_CACHE: mkdtempSync(join(tmpdir(), "simulate-run-directory-cache-")),
    // A closed port: any download attempt fails at once instead of reaching the network.
    HF_ENDPOINT: "http://127.0.0.1:9",
  };
});
afterAll(async () => {
  await server.close();
});

const directory = () => mkdtempSync(join(tmpdir(), "simulate-run-directory-"));
const simulateArgs = (runDirectory: string) => {
  const spec = `openai:fake@${server.url}/v1`;
  return ["simulate", "--agent-model", spec, "--observer-model", spec, "--run-dir", runDirectory, "--size", "3"];
};
const readRecords = (runDirectory: string): InteractionRecord[] =>
  readFileSync(join(runDirectory, "records.jsonl"), "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as InteractionRecord);

/** Starts the CLI; resolves with its exit code and stderr. */
function start(args: string[]) {
  const child = spawn(process.execPath, [binPath, ...args], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...environment },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  child.stdout.resume();
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.once("close", (code) => resolve({ code, stderr })),
  );
  return { child, exited };
}

describe("simulate: one process per run directory", () => {
  it("of two runs started at the same instant, one runs and the other is refused naming its pid", {
    timeout: 240_000,
  }, async () => {
    const runDirectory = join(directory(), "run");
    const first = start(simulateArgs(runDirectory));
    const second = start(simulateArgs(runDirectory));
    // The run that got the lock waits for the other to finish, so both are surely alive together.
    const oneExited = Promise.race([first.exited, second.exited]);
    respondHook = () =>
      Promise.race([oneExited.then(() => undefined), new Promise<void>((r) => setTimeout(r, 30_000))]);
    const results = await Promise.all([first.exited, second.exited]);
    respondHook = undefined;
    const winner = results.findIndex((result) => result.code === 0);
    expect(results.map((result) => result.code).sort(), results.map((result) => result.stderr).join("\n")).toEqual([
      0, 1,
    ]);
    const winnerPid = [first, second][winner]?.child.pid;
    const refused = (results[1 - winner] as { stderr: string }).stderr;
    expect(refused).toMatch(
      new RegExp(`^error: .*run is in use by pid ${winnerPid} \\(simulate, since [^)]+\\); wait`),
    );
    expect(refused.trim().split("\n")).toHaveLength(1);
    const keys = readRecords(runDirectory).map((record) => `${record.iteration}/${record.agent_id}`);
    expect(keys).toHaveLength(18);
    expect(new Set(keys).size).toBe(18);
    expect(existsSync(join(runDirectory, RUN_LOCK_FILE_NAME))).toBe(false);
  });

  it("takes over the lock a killed run left behind", { timeout: 240_000 }, async () => {
    const runDirectory = join(directory(), "run");
    mkdirSync(runDirectory);
    const dead = spawn(process.execPath, ["--eval", ""], { stdio: "ignore" });
    await new Promise((resolve) => dead.once("exit", resolve));
    writeFileSync(
      join(runDirectory, RUN_LOCK_FILE_NAME),
      JSON.stringify({ pid: dead.pid, command: "simulate", startedAt: "2026-01-01T00:00:00.000Z", nonce: "0" }),
    );
    const result = await runCliProcess({ args: [...simulateArgs(runDirectory), "--rounds", "1"], environment });
    expect(result.code, result.stderr).toBe(0);
    expect(readRecords(runDirectory)).toHaveLength(9);
    expect(existsSync(join(runDirectory, RUN_LOCK_FILE_NAME))).toBe(false);
  });
});

describe("simulate: the lock is released when the run stops", () => {
  it("on SIGTERM", { timeout: 120_000 }, async () => {
    const runDirectory = join(directory(), "run");
    const run = start(simulateArgs(runDirectory));
    let calls = 0;
    respondHook = async () => {
      calls += 1;
      if (calls === 10) {
        expect(existsSync(join(runDirectory, RUN_LOCK_FILE_NAME))).toBe(true);
        run.child.kill("SIGTERM");
      }
    };
    const result = await run.exited;
    respondHook = undefined;
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/stopped; rerun with --run-dir/);
    expect(existsSync(join(runDirectory, RUN_LOCK_FILE_NAME))).toBe(false);
  });
});

describe("simulate: unusable run directories end in one line", () => {
  const expectOneLine = async (runDirectory: string, pattern: RegExp) => {
    const result = await runCliProcess({ args: simulateArgs(runDirectory), environment, timeoutMs: 60_000 });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).not.toContain("unexpected failure");
    expect(result.stderr.trim().split("\n"), result.stderr).toHaveLength(1);
    expect(result.stderr).toMatch(pattern);
  };

  it("a file, a path under a file, a kernel folder", { timeout: 120_000 }, async () => {
    const root = directory();
    const file = join(root, "file");
    writeFileSync(file, "x");
    await expectOneLine(file, /--run-dir .*file: is a file, not a directory/);
    await expectOneLine(join(file, "run"), /--run-dir .*file\/run: lies under .*file, which is a file/);
    await expectOneLine(
      "/proc/self/stable-alignment-run",
      /--run-dir \/proc\/self\/stable-alignment-run: lies under \/proc/,
    );
  });

  it("a truncated or non-SQLite run.sqlite", { timeout: 120_000 }, async () => {
    for (const content of ["not a database\n".repeat(100), "SQLite format 3\0"]) {
      const runDirectory = join(directory(), "run");
      mkdirSync(runDirectory);
      writeFileSync(join(runDirectory, "run.sqlite"), content);
      await expectOneLine(runDirectory, /run\.sqlite is not a readable SQLite database .*move it away/);
      expect(existsSync(join(runDirectory, RUN_LOCK_FILE_NAME))).toBe(false);
    }
  });
});
