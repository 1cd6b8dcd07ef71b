/**
 * `simulate --estimate`: prints what the run these flags describe would cost (calls, tokens, US
 * dollars, wall time; see sandbox/simulation-estimate.ts) and stops: nothing is written and no model
 * is called. Earlier runs named by `--estimate-from`, and the run being resumed, supply the measured
 * answer lengths, re-ask and retry rates and latency; without them the stated defaults are used.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { orderQuestions } from "../data/question-pool.js";
import { priceOfSpec } from "../llm/price-of-spec.js";
import type { PromptTemplates } from "../llm/prompts/prompt-templates.js";
import type { Prior } from "../sandbox/prior-loader.js";
import type { SimulationConfig } from "../sandbox/simulation-config.js";
import { type EstimateTotals, estimateSimulation, type SimulationEstimate } from "../sandbox/simulation-estimate.js";
import { measureSimulationProfile } from "../sandbox/simulation-profile.js";
import { UsageError } from "../spec/errors.js";
import type { CliContext } from "./cli-context.js";
import type { SimulateOptions } from "./simulate-inputs.js";

/** Opens `<directory>/run.sqlite` read only; a directory without one is a usage error naming `flag`. */
function openRunDatabase(directory: string, flag: string): Database.Database {
  const path = join(directory, "run.sqlite");
  if (!existsSync(path))
    throw new UsageError(`${flag} ${directory}: no run.sqlite there (not a simulate run directory)`, {
      field: flag.slice(2),
    });
  return new Database(path, { readonly: true, fileMustExist: true });
}

/** Estimates the run and prints the estimate (text, or one JSON line with `json`). */
export function printSimulationEstimate({
  options,
  context,
  config,
  pool,
  prior,
  prompts,
  runDirectory,
  concurrency,
}: {
  /** The flags: `estimateFrom` (earlier run directories), `json`, `shuffleQuestions` and `seed` are read. */
  options: Pick<SimulateOptions, "estimateFrom" | "json" | "shuffleQuestions" | "seed">;
  context: CliContext;
  config: SimulationConfig;
  /** The question pool in file order. */
  pool: readonly string[];
  prior: Prior;
  prompts: PromptTemplates;
  /** The run directory; a run already there is the run being resumed. */
  runDirectory: string;
  /** Calls in flight per HTTP endpoint. */
  concurrency: number;
}): SimulationEstimate {
  const estimateFrom = options.estimateFrom ?? [];
  const questions = orderQuestions(pool, { shuffled: options.shuffleQuestions === true, seed: options.seed });
  const history: Database.Database[] = [];
  try {
    for (const directory of estimateFrom) history.push(openRunDatabase(directory, "--estimate-from"));
    const resumeFrom = existsSync(join(runDirectory, "run.sqlite"))
      ? openRunDatabase(runDirectory, "--run-dir")
      : undefined;
    if (resumeFrom !== undefined) history.push(resumeFrom);
    const profile = measureSimulationProfile({
      databases: history,
      prompts,
      priorPairs: [...prior.answers.good, ...prior.answers.bad],
    });
    const estimate = estimateSimulation({
      config,
      questions,
      prior,
      prompts,
      priceOf: (spec) =>
        priceOfSpec({ spec, ...(context.config.prices === undefined ? {} : { prices: context.config.prices }) }),
      profile,
      concurrency,
      ...(resumeFrom === undefined ? {} : { resumeFrom }),
    });
    context.stdout.write(
      options.json === true
        ? `${JSON.stringify({ type: "estimate", ...estimate })}\n`
        : formatEstimate(estimate, estimateFrom),
    );
    return estimate;
  } finally {
    for (const database of history) database.close();
  }
}

const whole = (value: number): string => Math.round(value).toLocaleString("en-US");
const dollars = (value: number): string => `$${value.toFixed(value < 1 ? 4 : 2)}`;

const percents = (rates: readonly number[]): string => rates.map((rate) => `${(rate * 100).toFixed(1)}%`).join(" / ");

function duration(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** `low` or `low - high` when they differ. */
function span(low: number, high: number, format: (value: number) => string): string {
  return format(low) === format(high) ? format(low) : `${format(low)} - ${format(high)}`;
}

/** The estimate as text: one line per quantity, then what it assumed and where that came from. */
export function formatEstimate(estimate: SimulationEstimate, estimateFrom: readonly string[] = []): string {
  const { low, high, profile } = estimate;
  const row = (label: string, value: (totals: EstimateTotals) => number, format: (value: number) => string) =>
    `  ${label.padEnd(20)}${span(value(low), value(high), format)}\n`;
  const resumed = estimate.completedRounds > 0 ? ` after the ${estimate.completedRounds} complete` : "";
  const rangeNote = low.rounds === high.rounds ? "" : " (plateau: fewest rounds the rule allows - the cap)";
  const source =
    profile.source === "measured"
      ? `measured from ${profile.interactions} interaction(s) of ${estimateFrom.length === 0 ? "the run being resumed" : "earlier runs"}`
      : "stated defaults, no earlier run measured (pass --estimate-from <run dir>)";
  const concurrency = Object.entries(estimate.concurrency)
    .map(([spec, slots]) => `${spec} ${slots}`)
    .join(", ");
  return [
    `estimate (no model called, nothing written): ${span(low.rounds, high.rounds, whole)} round(s)${resumed}${rangeNote}\n`,
    row("chat calls", (totals) => totals.chat.calls, whole),
    row("  of them re-asks", (totals) => totals.chat.reAsks, whole),
    row("retried requests", (totals) => totals.chat.retries, whole),
    row("prompt tokens", (totals) => totals.chat.promptTokens, whole),
    row("completion tokens", (totals) => totals.chat.completionTokens, whole),
    row("embedding calls", (totals) => totals.embedding.calls, whole),
    row("embedding tokens", (totals) => totals.embedding.tokens, whole),
    row("cost", (totals) => totals.costUsd, dollars),
    row("wall time", (totals) => totals.wallSeconds, duration),
    `assumed, ${source}:\n`,
    `  completion tokens per call: draft ${whole(profile.completionTokens.draft)}, revision ${whole(profile.completionTokens.revision)}, peer rating ${whole(profile.completionTokens["peer-rating"])}, observer rating ${whole(profile.completionTokens["observer-alignment"])}\n`,
    `  unreadable rating replies by attempt: peers ${percents(profile.unreadableRate.peer)}, observers ${percents(profile.unreadableRate.observer)}; retried requests ${(profile.retryRate * 100).toFixed(1)}% of calls\n`,
    `  latency ${whole(profile.latencyMs)} ms a call; calls in flight: ${concurrency}\n`,
    "  prices from the price table (config prices over the built-in list); models without a price count as free\n",
  ].join("");
}
