/**
 * `npm run bench -- sandbox-scale [--sizes 20,50,100] [--concurrency 64]`
 *
 * The orchestrator's own cost as the society grows: for each size, a size x size society runs one
 * round against the society-answering fake server at zero latency (the server in its own process, so
 * its CPU is not counted; each size in its own process too, so its peak RSS is its own), through the
 * OpenAI-compatible provider and the model stack. Prints one JSON line: per size, the orchestrator's
 * CPU ms per LM call and per interaction (process.cpuUsage of the size's process; per interaction also
 * for the round alone, without the run's one-off setup: store, prior memories, close) and its peak
 * RSS, and the ratios of CPU per interaction at the largest size to the smallest.
 * Targets: <= 1 ms CPU per call at every size; CPU per interaction within 20% from the smallest size to
 * the largest; peak RSS < 2 GB at 100x100. Nothing asserts on them.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startSocietyServer } from "./sandbox.js";

interface SizeResult {
  size: number;
  calls: number;
  cpuMs: number;
  roundCpuMs: number;
  wallMs: number;
  interactions: number;
  peakRssMiB: number;
}

async function runSize({ url, size, concurrency }: { url: string; size: number; concurrency: number }) {
  const main = fileURLToPath(new URL("./support/sandbox-scale-child.ts", import.meta.url));
  const child = spawn(
    process.execPath,
    ["--import", "tsx", main, "--url", url, "--size", String(size), "--concurrency", String(concurrency)],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let output = "";
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    output += chunk;
  });
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  const line = output.trim().split("\n").at(-1) ?? "";
  if (code !== 0 || line === "") throw new Error(`the ${size}x${size} run exited with code ${code}`);
  return JSON.parse(line) as SizeResult;
}

/** Runs the benchmark; see the module comment. */
export default async function sandboxScaleBenchmark(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      sizes: { type: "string", default: "20,50,100" },
      concurrency: { type: "string", default: "64" },
    },
  });
  const sizes = values.sizes.split(",").map(Number);
  for (const size of sizes) {
    if (!Number.isInteger(size) || size < 2)
      throw new RangeError(`--sizes: each size must be an integer >= 2, got ${size}`);
  }
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`--concurrency must be a whole number >= 1, got ${values.concurrency}`);
  }
  const server = await startSocietyServer(0);
  const results: SizeResult[] = [];
  try {
    for (const size of sizes) {
      const result = await runSize({ url: server.url, size, concurrency });
      results.push(result);
      process.stderr.write(
        `${size}x${size}: ${result.calls} calls, ${(result.cpuMs / result.calls).toFixed(3)} ms CPU per call, ` +
          `${(result.cpuMs / result.interactions).toFixed(2)} ms per interaction, peak RSS ${Math.round(result.peakRssMiB)} MiB, ` +
          `${(result.wallMs / 1000).toFixed(1)} s\n`,
      );
    }
  } finally {
    await server.close();
  }
  const perInteraction = (result: SizeResult): number => result.cpuMs / result.interactions;
  const first = results[0] as SizeResult;
  const last = results.at(-1) as SizeResult;
  const round3 = (value: number): number => Math.round(value * 1000) / 1000;
  process.stdout.write(
    `${JSON.stringify({
      benchmark: "sandbox-scale",
      latency_ms: 0,
      rounds: 1,
      concurrency,
      sizes: results.map((result) => ({
        size: `${result.size}x${result.size}`,
        interactions: result.interactions,
        calls: result.calls,
        cpu_ms_per_call: round3(result.cpuMs / result.calls),
        cpu_ms_per_interaction: round3(perInteraction(result)),
        round_cpu_ms_per_interaction: round3(result.roundCpuMs / result.interactions),
        peak_rss_mib: Math.round(result.peakRssMiB),
        wall_s: round3(result.wallMs / 1000),
      })),
      cpu_per_interaction_ratio: round3(perInteraction(last) / perInteraction(first)),
      round_cpu_per_interaction_ratio: round3(
        last.roundCpuMs / last.interactions / (first.roundCpuMs / first.interactions),
      ),
      targets: { cpu_ms_per_call: "<= 1", cpu_per_interaction_ratio: "<= 1.2", peak_rss_mib_at_100x100: "< 2048" },
    })}\n`,
  );
}
