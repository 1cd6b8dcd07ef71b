/**
 * One size of `bench sandbox-scale`, in its own process so its peak RSS is its own:
 * `node --import tsx bench/support/sandbox-scale-child.ts --url U --size N --concurrency C`.
 * Warms up on a 20x20 society, then runs a size x size society for one round against the society
 * server at `--url` and prints one JSON line: interactions, LM calls, CPU ms (process.cpuUsage of
 * this process, the orchestrator) for the whole run and for the round alone, and peak RSS in MiB.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  generatedPrior,
  generatedQuestions,
  runTestSimulation,
} from "../../src/sandbox/test-support/test-simulation.js";
import { fakeStack } from "../sandbox.js";

const { values } = parseArgs({
  options: {
    url: { type: "string" },
    size: { type: "string", default: "20" },
    concurrency: { type: "string", default: "64" },
  },
});
if (values.url === undefined) throw new RangeError("--url is required");
const url = values.url;
const concurrency = Number(values.concurrency);

async function run(
  size: number,
): Promise<{ calls: number; cpuMs: number; roundCpuMs: number; wallMs: number; interactions: number }> {
  const stack = fakeStack({ url, concurrency });
  const directory = mkdtempSync(join(tmpdir(), "bench-sandbox-scale-"));
  try {
    const cpuBefore = process.cpuUsage();
    const startedAt = performance.now();
    // The round alone, from its start to its barrier: without opening the store, seeding the prior
    // memories and closing, which a run does once.
    let roundStart = cpuBefore;
    let roundCpuMs = 0;
    const { records } = await runTestSimulation({
      directory,
      size,
      rounds: 1,
      targets: 4,
      setting: "mixed_half_half",
      agentLanguageModels: [stack.model],
      observer: stack.model,
      questionPool: generatedQuestions(size * size),
      prior: generatedPrior(50),
      priorSize: 50,
      onEvent: (event) => {
        if (event.type === "round-start") roundStart = process.cpuUsage();
        if (event.type === "round-end") {
          const cpu = process.cpuUsage(roundStart);
          roundCpuMs = (cpu.user + cpu.system) / 1000;
        }
      },
    });
    const wallMs = performance.now() - startedAt;
    const cpu = process.cpuUsage(cpuBefore);
    return {
      calls: stack.usageMeter.totals().calls,
      cpuMs: (cpu.user + cpu.system) / 1000,
      roundCpuMs,
      wallMs,
      interactions: records.length,
    };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

// Warm-up (module loading, JIT, first connections) on a 20x20 society: 4,000 calls. A smaller one
// leaves optimisation work inside the 20x20 measurement (10x10: 4.3 ms per interaction, 20x20: 3.6).
await run(20);
const size = Number(values.size);
const measured = await run(size);
process.stdout.write(`${JSON.stringify({ size, ...measured, peakRssMiB: process.resourceUsage().maxRSS / 1024 })}\n`);
