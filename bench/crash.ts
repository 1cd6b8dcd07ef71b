/**
 * `npm run bench -- crash [--sizes 4,8] [--rounds 2] [--kills 20] [--wrapper-share 0.25]
 *   [--latency-ms 20] [--seed 1]`
 *
 * Crash safety of `simulate`: the real CLI (a child process) runs a size x size society against the
 * fake OpenAI-compatible server (its own child process, answering like a society after a fixed
 * latency), is SIGKILLed at a random moment, and is resumed with the same command plus `--resume`;
 * a resume is itself killed again at random now and then (at most three kills per run), until one
 * finishes. Sizes alternate until `--kills` SIGKILLs of the simulate process have happened. A share
 * of the kills (`--wrapper-share`) hits instead the shell that runs simulate, as `npm run` and `npx`
 * do: simulate lives on and the resume runs beside it (these count as `wrapper_kills`, not `kills`).
 * Every finished run's records.jsonl is compared with an uninterrupted run of the same size, ignoring
 * timings (as simulate-command.test.ts does). Kill moments are drawn uniformly from [0, the
 * uninterrupted run's wall time) by a generator seeded with `--seed`, so a seed names the same kill
 * schedule (where a kill lands in the run still depends on the machine's speed).
 *
 * Prints one JSON line: runs, kills, wrapper_kills, identical (runs equal to the uninterrupted one),
 * missing and duplicated interactions (summed over runs), the seed and the wall time; exits 1 unless
 * every run is identical.
 */

import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual, parseArgs } from "node:util";
import { createRandom } from "../src/engine/random.js";
import type { InteractionRecord } from "../src/spec/interaction-record.js";
import { startSocietyServer } from "./sandbox.js";

const MAX_KILLS_PER_RUN = 3;
const binPath = fileURLToPath(new URL("../bin/stable-alignment.js", import.meta.url));

/** How one start of the CLI ended. `survivor` (a wrapper was killed) settles when simulate itself ends. */
interface Attempt {
  killed: boolean;
  code: number | null;
  stderr: string;
  survivor?: Promise<void>;
}

/**
 * Starts `stable-alignment <args>` and, when `killAtMs` is given, SIGKILLs it that many milliseconds
 * after the start: the node process itself, or with `throughShell` the shell that runs it the way
 * `npm run` and `npx` do, which leaves simulate running beside whatever starts next.
 */
function runAttempt({
  args,
  environment,
  killAtMs,
  throughShell = false,
}: {
  args: readonly string[];
  environment: Record<string, string>;
  killAtMs?: number;
  throughShell?: boolean;
}): Promise<Attempt> {
  const child = throughShell
    ? spawn("sh", ["-c", '"$0" "$@"; exit $?', process.execPath, binPath, ...args], {
        env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...environment },
        stdio: ["ignore", "ignore", "pipe"],
      })
    : spawn(process.execPath, [binPath, ...args], {
        env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...environment },
        stdio: ["ignore", "ignore", "pipe"],
      });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  // `close` waits until every holder of the stderr pipe is gone, a surviving simulate included.
  const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
  const timer = killAtMs === undefined ? undefined : setTimeout(() => child.kill("SIGKILL"), killAtMs);
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      const killed = signal === "SIGKILL";
      if (killed && throughShell) resolve({ killed, code, stderr, survivor: closed });
      else void closed.then(() => resolve({ killed, code, stderr }));
    });
  });
}

/** How a run's records compare with the uninterrupted run's. */
interface Comparison {
  identical: boolean;
  missing: number;
  duplicated: number;
}

const readRecords = (runDirectory: string): InteractionRecord[] => {
  const path = join(runDirectory, "records.jsonl");
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as InteractionRecord);
};
const withoutTimings = (records: InteractionRecord[]) => records.map(({ timings: _timings, ...rest }) => rest);
const keyOf = (record: InteractionRecord): string => `${record.iteration}/${record.agent_id}`;

function compare(records: InteractionRecord[], reference: InteractionRecord[]): Comparison {
  const counts = new Map<string, number>();
  for (const record of records) counts.set(keyOf(record), (counts.get(keyOf(record)) ?? 0) + 1);
  const missing = reference.filter((record) => !counts.has(keyOf(record))).length;
  const duplicated = [...counts.values()].reduce((sum, count) => sum + count - 1, 0);
  return {
    identical: isDeepStrictEqual(withoutTimings(records), withoutTimings(reference)),
    missing,
    duplicated,
  };
}

/** Runs the benchmark; see the module comment. */
export default async function crashBenchmark(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      sizes: { type: "string", default: "4,8" },
      rounds: { type: "string", default: "2" },
      kills: { type: "string", default: "20" },
      "latency-ms": { type: "string", default: "20" },
      seed: { type: "string", default: "1" },
      "wrapper-share": { type: "string", default: "0.25" },
    },
  });
  const sizes = values.sizes.split(",").map(Number);
  const rounds = Number(values.rounds);
  const targetKills = Number(values.kills);
  const latencyMs = Number(values["latency-ms"]);
  const seed = Number(values.seed);
  const wrapperShare = Number(values["wrapper-share"]);
  const random = createRandom({ seed, algorithm: "mulberry32" });
  const root = mkdtempSync(join(tmpdir(), "bench-crash-"));
  const environment = {
    STABLE_ALIGNMENT_CACHE: join(root, "cache"),
    // A closed port: nothing is ever downloaded.
    HF_ENDPOINT: "http://127.0.0.1:9",
  };
  const startedAt = performance.now();
  const server = await startSocietyServer(latencyMs);
  const spec = `openai:fake@${server.url}/v1`;
  const commandFor = (size: number, runDirectory: string): string[] => [
    "simulate",
    "--agent-model",
    spec,
    "--observer-model",
    spec,
    "--size",
    String(size),
    "--rounds",
    String(rounds),
    "--setting",
    "all_bad",
    "--seed",
    "1",
    "--run-dir",
    runDirectory,
    "--json",
  ];
  const mustSucceed = (result: Attempt, what: string): void => {
    if (result.code !== 0) throw new Error(`${what} failed (code ${result.code}): ${result.stderr}`);
  };
  let runs = 0;
  let attempts = 0;
  let kills = 0;
  let wrapperKills = 0;
  let identical = 0;
  let missing = 0;
  let duplicated = 0;
  const failures: string[] = [];
  try {
    const references = new Map<number, { records: InteractionRecord[]; wallMs: number }>();
    for (const size of sizes) {
      const runDirectory = join(root, `reference-${size}`);
      const before = performance.now();
      mustSucceed(
        await runAttempt({ args: commandFor(size, runDirectory), environment }),
        `uninterrupted run ${size}x${size}`,
      );
      references.set(size, { records: readRecords(runDirectory), wallMs: performance.now() - before });
    }
    while (kills < targetKills) {
      const size = sizes[attempts % sizes.length] as number;
      const reference = references.get(size) as { records: InteractionRecord[]; wallMs: number };
      const runDirectory = join(root, `run-${attempts}`);
      attempts += 1;
      let killsThisRun = 0;
      const survivors: Promise<void>[] = [];
      for (;;) {
        // The first attempt is always killed; a resume is killed again with probability one half.
        const kill = killsThisRun === 0 || (killsThisRun < MAX_KILLS_PER_RUN && random.nextFloat() < 0.5);
        const killAtMs = Math.max(1, Math.round(random.nextFloat() * reference.wallMs));
        const throughShell = random.nextFloat() < wrapperShare;
        // Before config.json exists there is nothing to resume: the plain command starts over.
        const resume = existsSync(join(runDirectory, "config.json")) ? ["--resume"] : [];
        const result = await runAttempt({
          args: [...commandFor(size, runDirectory), ...resume],
          environment,
          ...(kill ? { killAtMs, throughShell } : {}),
        });
        if (result.killed) {
          killsThisRun += 1;
          if (result.survivor === undefined) kills += 1;
          else {
            wrapperKills += 1;
            survivors.push(result.survivor);
          }
          continue;
        }
        if (result.code !== 0 && survivors.length > 0) {
          // Refused or failed beside a survivor (two processes on one run directory): try again
          // once every survivor has finished.
          await Promise.all(survivors.splice(0));
          continue;
        }
        mustSucceed(result, `run ${runs} (${size}x${size}) after ${killsThisRun} kill(s)`);
        break;
      }
      await Promise.all(survivors);
      if (killsThisRun === 0) {
        // Finished before its kill moment: nothing was interrupted, so it does not count as a run.
        rmSync(runDirectory, { recursive: true, force: true });
        continue;
      }
      const comparison = compare(readRecords(runDirectory), reference.records);
      runs += 1;
      if (comparison.identical) identical += 1;
      else failures.push(`run ${runs - 1} (${size}x${size}): ${JSON.stringify(comparison)}`);
      missing += comparison.missing;
      duplicated += comparison.duplicated;
      rmSync(runDirectory, { recursive: true, force: true });
    }
  } finally {
    await server.close();
    rmSync(root, { recursive: true, force: true });
  }
  const result = {
    benchmark: "crash",
    sizes,
    rounds,
    latency_ms: latencyMs,
    seed,
    runs,
    kills,
    wrapper_kills: wrapperKills,
    identical,
    missing,
    duplicated,
    wall_s: Number(((performance.now() - startedAt) / 1000).toFixed(1)),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  for (const failure of failures) process.stderr.write(`not identical: ${failure}\n`);
  if (identical !== runs) process.exitCode = 1;
}
