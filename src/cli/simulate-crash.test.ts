import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { societyAnswer } from "../sandbox/test-support/scripted-society.js";
import type { InteractionRecord } from "../spec/interaction-record.js";
import { type FakeLlmServer, startFakeLlmServer } from "../test-kit/fake-llm-server.js";
import { runCliProcess } from "./cli-process.js";

const binPath = fileURLToPath(new URL("../../bin/stable-alignment.js", import.meta.url));
let server: FakeLlmServer;
let respondHook: (() => Promise<void>) | undefined;
const environment = () => ({
  STABLE_ALIGNMENT_CACHE: mkdtempSync(join(tmpdir(), "simulate-crash-cache-")),
  // A closed port: nothing is ever downloaded.
  HF_ENDPOINT: "http://127.0.0.1:9",
});

beforeAll(async () => {
  server = await startFakeLlmServer({
    recordRequests: false,
    respond: async ({ body }) => {
      await respondHook?.();
      return societyAnswer(body as never);
    },
  });
});
afterAll(async () => {
  await server.close();
});

const readRecords = (runDirectory: string): InteractionRecord[] =>
  readFileSync(join(runDirectory, "records.jsonl"), "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as InteractionRecord);
const withoutTimings = (records: InteractionRecord[]) => records.map(({ timings: _timings, ...rest }) => rest);

/** Starts a command; resolves `firstRound` at its first round-start line (or its exit) and `exited` at its exit. */
function start(command: string, args: readonly string[], env: Record<string, string>) {
  const child = spawn(command, args, {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  // `close` waits for every holder of the output pipes: a surviving grandchild keeps them open.
  const closed = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const lines: string[] = [];
  const firstRound = new Promise<void>((resolve) => {
    createInterface({ input: child.stdout }).on("line", (line) => {
      lines.push(line);
      if (line.includes('"type":"round-start"')) resolve();
    });
    void exited.then(() => resolve());
  });
  return { child, closed, exited, firstRound, lines, stderr: () => stderr };
}

describe("simulate: killed and resumed while the killed command's simulate process lives on", () => {
  it("records.jsonl holds each (round, agent) once and equals an uninterrupted run", { timeout: 240_000 }, async () => {
    const root = mkdtempSync(join(tmpdir(), "simulate-crash-"));
    const spec = `openai:fake@${server.url}/v1`;
    const command = (runDirectory: string) => [
      "simulate",
      ...["--agent-model", spec, "--observer-model", spec],
      ...["--size", "3", "--rounds", "2", "--setting", "all_bad", "--seed", "1"],
      ...["--run-dir", runDirectory, "--json"],
    ];

    const reference = join(root, "reference");
    const uninterrupted = await runCliProcess({ args: command(reference), environment: environment() });
    expect(uninterrupted.code, uninterrupted.stderr).toBe(0);

    // `npm run` and `npx` run the CLI under a shell; SIGKILL of that wrapper leaves simulate running.
    // The wrapper here is the same: a shell that waits for node (`; exit $?` keeps it from exec'ing).
    const killed = join(root, "killed");
    const env = environment();
    const wrapper = start("sh", ["-c", '"$0" "$@"; exit $?', process.execPath, binPath, ...command(killed)], env);
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let calls = 0;
    respondHook = async () => {
      calls += 1;
      if (calls < 30) return;
      // Mid-round 0: kill the wrapper, then hold every answer until the resume has reconciled
      // records.jsonl and started its round, so both processes reach the round-0 barrier.
      if (calls === 30) wrapper.child.kill("SIGKILL");
      await held;
    };
    expect(await wrapper.exited).toBeNull();
    const linesBeforeKill = wrapper.lines.length;
    const resumed = start(process.execPath, [binPath, ...command(killed), "--resume"], env);
    await resumed.firstRound;
    release();
    const resumedCode = await resumed.exited;
    await wrapper.closed;
    respondHook = undefined;
    // The wrapper's simulate process lived on and finished rounds after the kill.
    expect(wrapper.lines.slice(linesBeforeKill).filter((line) => line.includes('"type":"round-end"'))).not.toEqual([]);
    if (resumedCode !== 0) {
      // A run lock may refuse a resume beside a live run: resume once the survivor is gone.
      const again = await runCliProcess({ args: [...command(killed), "--resume"], environment: env });
      expect(again.code, again.stderr).toBe(0);
    }

    const records = readRecords(killed);
    const keys = records.map((record) => `${record.iteration}/${record.agent_id}`);
    expect(keys).toHaveLength(18);
    expect(new Set(keys).size).toBe(18);
    expect(withoutTimings(records)).toEqual(withoutTimings(readRecords(reference)));
  });
});
