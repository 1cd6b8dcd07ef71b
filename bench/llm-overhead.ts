/**
 * `npm run bench -- llm-overhead [--calls N] [--warmup N] [--concurrency N] [--rounds N]`
 *
 * Cost of the full model stack as the CLI wires it (src/cli/model-factory.ts: the SQLite response cache
 * and usage ledger of src/store/open-store.ts, in a temporary file in WAL mode; usage, retry,
 * balancer, limiter, OpenAI-compatible provider) against a bare `fetch` loop, both driving the fake
 * server (zero latency, in a child process so its CPU is not ours) at the same concurrency in the same
 * run. Every stack call has its own call identity, so each one misses the cache and is stored: one
 * cache row and one usage-ledger row per call, checked at the end. Prints one JSON line:
 * `{stack_calls_per_s, bare_calls_per_s, ratio, middleware_cpu_ms_per_call, ...}`.
 * Targets: ratio >= 0.7, middleware CPU <= 0.5 ms per call. Nothing asserts on them.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createUsageMeter } from "../src/llm/middleware/usage-meter.js";
import { createModelStack } from "../src/llm/model-stack.js";
import { createOpenAICompatible } from "../src/llm/openai-compatible.js";
import type { LanguageModel } from "../src/spec/language-model.js";
import { openStore } from "../src/store/open-store.js";
import { spawnFakeLlmServer } from "../src/test-kit/fake-llm-server-process.js";

interface Measurement {
  calls: number;
  wallMs: number;
  cpuMs: number;
}

/** Runs `call(index)` for indexes [from, from + count) with `concurrency` workers. */
async function drive(
  count: number,
  concurrency: number,
  call: (index: number) => Promise<unknown>,
  from = 0,
): Promise<Measurement> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = from + next;
      next += 1;
      await call(index);
    }
  };
  const cpuBefore = process.cpuUsage();
  const startedAt = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  const wallMs = performance.now() - startedAt;
  const cpu = process.cpuUsage(cpuBefore);
  return { calls: count, wallMs, cpuMs: (cpu.user + cpu.system) / 1000 };
}

function add(total: Measurement, part: Measurement): Measurement {
  return { calls: total.calls + part.calls, wallMs: total.wallMs + part.wallMs, cpuMs: total.cpuMs + part.cpuMs };
}

function wholeNumber(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`--${name} must be a whole number >= 1, got ${text}`);
  return value;
}

export default async function llmOverhead(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      calls: { type: "string", default: "20000" },
      warmup: { type: "string", default: "2000" },
      concurrency: { type: "string", default: "256" },
      rounds: { type: "string", default: "8" },
    },
  });
  const calls = wholeNumber("calls", values.calls);
  const warmup = wholeNumber("warmup", values.warmup);
  const concurrency = wholeNumber("concurrency", values.concurrency);
  const rounds = wholeNumber("rounds", values.rounds);

  const server = await spawnFakeLlmServer({ latencyMs: 0 });
  const directory = mkdtempSync(join(tmpdir(), "bench-llm-overhead-"));
  // The CLI's store: one SQLite file (WAL) holding the response cache and the usage ledger.
  const store = openStore({ path: join(directory, "run.sqlite") });
  try {
    const endpoint = `${server.url}/v1/chat/completions`;
    const headers = { "content-type": "application/json" };
    const bare = async (index: number): Promise<string> => {
      const response = await fetch(endpoint, {
        method: "POST",
        headers,
        body: JSON.stringify({
          model: "fake-model",
          messages: [{ role: "user", content: `question ${index}` }],
          temperature: 1,
        }),
      });
      const json = JSON.parse(await response.text()) as { choices: { message: { content: string } }[] };
      const text = json.choices[0]?.message.content;
      if (response.status !== 200 || typeof text !== "string") throw new Error(`bare call ${index} failed`);
      return text;
    };

    const provider: LanguageModel = createOpenAICompatible({
      baseURL: server.url,
      model: "fake-model",
      pricePerMillionTokens: { prompt: 0, completion: 0 },
    });
    const usageMeter = createUsageMeter();
    usageMeter.onUsage((entry) => store.recordUsage(entry));
    const stack = createModelStack({
      replicas: [provider],
      usageMeter,
      cacheStore: store.responseCache,
      maxConcurrency: concurrency,
    });
    const viaStack = (index: number): Promise<unknown> =>
      stack.model.generate({
        messages: [{ role: "user", content: `question ${index}` }],
        sampling: { temperature: 1 },
        callIdentity: `bench/call:${index}`,
      });

    await drive(warmup, concurrency, bare);
    await drive(warmup, concurrency, viaStack, -warmup);

    // Alternate the order each round so slow drift on a shared machine hits both loops alike.
    const perRound = Math.ceil(calls / rounds);
    let bareTotal: Measurement = { calls: 0, wallMs: 0, cpuMs: 0 };
    let stackTotal: Measurement = { calls: 0, wallMs: 0, cpuMs: 0 };
    for (let round = 0; round < rounds; round += 1) {
      const from = round * perRound;
      if (round % 2 === 0) {
        bareTotal = add(bareTotal, await drive(perRound, concurrency, bare, from));
        stackTotal = add(stackTotal, await drive(perRound, concurrency, viaStack, from));
      } else {
        stackTotal = add(stackTotal, await drive(perRound, concurrency, viaStack, from));
        bareTotal = add(bareTotal, await drive(perRound, concurrency, bare, from));
      }
    }
    const totals = stack.usageMeter.totals();
    if (totals.calls !== warmup + perRound * rounds || totals.cachedCalls !== 0) {
      throw new Error(`stack served ${totals.calls} calls (${totals.cachedCalls} cached); expected all to miss`);
    }
    const cachedRows = (store.database.prepare("SELECT COUNT(*) AS rows FROM lm_responses").get() as { rows: number })
      .rows;
    const ledger = store.usageTotals().reduce((sum, row) => sum + row.calls, 0);
    if (cachedRows !== totals.calls || ledger !== totals.calls) {
      throw new Error(
        `SQLite store holds ${cachedRows} cached responses and ${ledger} usage rows for ${totals.calls} calls`,
      );
    }
    const bareCallsPerSecond = (bareTotal.calls / bareTotal.wallMs) * 1000;
    const stackCallsPerSecond = (stackTotal.calls / stackTotal.wallMs) * 1000;
    const bareCpuPerCall = bareTotal.cpuMs / bareTotal.calls;
    const stackCpuPerCall = stackTotal.cpuMs / stackTotal.calls;
    const round3 = (value: number): number => Math.round(value * 1000) / 1000;
    process.stdout.write(
      `${JSON.stringify({
        stack_calls_per_s: Math.round(stackCallsPerSecond),
        bare_calls_per_s: Math.round(bareCallsPerSecond),
        ratio: round3(stackCallsPerSecond / bareCallsPerSecond),
        middleware_cpu_ms_per_call: round3(stackCpuPerCall - bareCpuPerCall),
        stack_cpu_ms_per_call: round3(stackCpuPerCall),
        bare_cpu_ms_per_call: round3(bareCpuPerCall),
        calls_each: bareTotal.calls,
        concurrency,
        cache: "sqlite (WAL, as the CLI)",
        targets: { ratio: ">= 0.7", middleware_cpu_ms_per_call: "<= 0.5" },
      })}\n`,
    );
  } finally {
    store.close();
    rmSync(directory, { recursive: true, force: true });
    await server.close();
  }
}
