/**
 * `npm run bench -- serve [--size 30] [--rounds 50] [--requests 20]`: the web app's society page on a
 * large run. Synthesizes a size x size, rounds-round run.sqlite (30 x 30 x 50 = 45,000 interactions)
 * through the store API, starts the real server on 127.0.0.1, requests the society page `--requests`
 * times (rounds spread over the run, both revision phases) and reports the mean and p95 milliseconds
 * per page (HTTP round trip in this process), the process RSS, and the same SQLite queries run bare in
 * the same process (overhead ratio = page mean / bare mean). Also times the rounds page, which reads
 * every interaction. Targets: society page under 300 ms, RSS under 300 MB. Nothing asserts on time.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { readSocietyGrid } from "../src/store/interaction-detail-reader.js";
import { runId } from "../src/web/run-catalog.js";
import { readSimulationOverview } from "../src/web/simulation-queries.js";
import { startWebServer } from "../src/web/start-web-server.js";
import { writeSyntheticSociety } from "../src/web/test-support/synthetic-society.js";
import { createWebApp } from "../src/web/web-app.js";

function flag(args: string[], name: string, fallback: number): number {
  const index = args.indexOf(name);
  if (index < 0) return fallback;
  const value = Number(args[index + 1]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
  return value;
}

function summary(samples: number[]): { meanMs: number; p95Ms: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = samples.reduce((sum, value) => sum + value, 0) / samples.length;
  const p95 = sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)] ?? Number.NaN;
  return { meanMs: Number(mean.toFixed(2)), p95Ms: Number(p95.toFixed(2)) };
}

export default async function serveBench(args: string[]): Promise<void> {
  const size = flag(args, "--size", 30);
  const rounds = flag(args, "--rounds", 50);
  const requests = flag(args, "--requests", 20);
  const root = mkdtempSync(join(tmpdir(), "bench-serve-"));
  const directory = join(root, "society");
  try {
    const synthesisStart = performance.now();
    const { interactions } = writeSyntheticSociety({ directory, size, rounds });
    const synthesisSeconds = (performance.now() - synthesisStart) / 1000;
    const databaseBytes = statSync(join(directory, "run.sqlite")).size;

    const webApp = createWebApp({ runDirectories: [root] });
    const server = await startWebServer({ webApp, port: 0 });
    const id = runId(directory);
    const plan = Array.from({ length: requests }, (_, index) => ({
      round: Math.floor((index * rounds) / requests),
      phase: index % 2 === 0 ? "after" : "before",
    }));
    const timePage = async (path: string): Promise<number> => {
      const started = performance.now();
      const response = await fetch(`${server.url}${path}`);
      const html = await response.text();
      const elapsed = performance.now() - started;
      if (response.status !== 200 || !html.includes("<svg")) throw new Error(`${path} answered ${response.status}`);
      return elapsed;
    };
    for (let warm = 0; warm < 3; warm += 1) await timePage(`/runs/${id}/society`);
    const pageSamples: number[] = [];
    for (const { round, phase } of plan)
      pageSamples.push(await timePage(`/runs/${id}/society?round=${round}&phase=${phase}`));
    const roundsSamples: number[] = [];
    for (let index = 0; index < 3; index += 1) roundsSamples.push(await timePage(`/runs/${id}/rounds`));
    const rssMb = process.memoryUsage().rss / 2 ** 20;
    const peakRssMb = process.resourceUsage().maxRSS / 1024;
    await server.close();

    // The same queries, bare, on their own read-only connection in this process.
    const database = new Database(join(directory, "run.sqlite"), { readonly: true, fileMustExist: true });
    const bare = () => {
      const overview = readSimulationOverview(database);
      if (!overview) throw new Error("no simulation in the synthesized store");
      return overview;
    };
    for (let warm = 0; warm < 3; warm += 1)
      readSocietyGrid(database, { runId: bare().runId, round: 0, phase: "after" });
    const bareSamples: number[] = [];
    for (const { round, phase } of plan) {
      const started = performance.now();
      const overview = bare();
      const cells = readSocietyGrid(database, { runId: overview.runId, round, phase: phase as "before" | "after" });
      bareSamples.push(performance.now() - started);
      if (cells.length !== size * size)
        throw new Error(`bare query read ${cells.length} cells, expected ${size * size}`);
    }
    database.close();

    const page = summary(pageSamples);
    const queries = summary(bareSamples);
    const result = {
      bench: "serve",
      grid: `${size}x${size}`,
      rounds,
      interactions,
      databaseMb: Number((databaseBytes / 2 ** 20).toFixed(1)),
      synthesisSeconds: Number(synthesisSeconds.toFixed(1)),
      requests,
      societyPage: page,
      bareQueries: queries,
      overheadRatio: Number((page.meanMs / queries.meanMs).toFixed(2)),
      roundsPage: summary(roundsSamples),
      rssMb: Number(rssMb.toFixed(1)),
      peakRssMb: Number(peakRssMb.toFixed(1)),
      targets: { pageMs: 300, rssMb: 300 },
      withinTargets: page.p95Ms < 300 && peakRssMb < 300,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
