/**
 * What `simulate` shows while it runs: a progress bar on stderr (interactions, calls/s, tokens, the
 * run's spend, retries by cause, ETA), the per-round table on stdout after every round, or with
 * `--json` the same as JSON lines.
 */
import cliProgress from "cli-progress";
import type { RetryCounts, UsageMeter } from "../llm/middleware/usage-meter.js";
import { formatRoundTable } from "../sandbox/round-summary.js";
import type { SimulationEvent } from "../sandbox/simulation.js";
import type { RetryCause } from "../spec/response-cache.js";

const causeLabels: Record<RetryCause, string> = {
  "rate-limit": "429",
  "server-error": "5xx",
  "bad-body": "bad body",
  timeout: "timeout",
  connection: "connection",
};

/** Retries as one phrase: `0 retries`, or `3 retries (429 1, bad body 2)` with the causes seen. */
export function formatRetries(counts: RetryCounts): string {
  const causes = (Object.keys(causeLabels) as RetryCause[]).filter((cause) => counts[cause] > 0);
  const total = causes.reduce((sum, cause) => sum + counts[cause], 0);
  const noun = total === 1 ? "retry" : "retries";
  if (total === 0) return `0 ${noun}`;
  return `${total} ${noun} (${causes.map((cause) => `${causeLabels[cause]} ${counts[cause]}`).join(", ")})`;
}

/** Receives simulation events and prints them. */
export interface SimulateReporter {
  onEvent(event: SimulationEvent): void;
  /** Stops the bar (call on success and on failure). */
  stop(): void;
}

/** Creates the reporter. The bar appears only on a terminal and never with `json`. */
export function createSimulateReporter({
  stdout,
  stderr,
  json,
  usageMeter,
  runDirectory,
}: {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  json: boolean;
  usageMeter: UsageMeter;
  runDirectory: string;
}): SimulateReporter {
  const startedAt = performance.now();
  let bar: cliProgress.SingleBar | undefined;
  let done = 0;
  let total = 0;
  let agents = 0;
  let resumedDone = 0;
  const remaining = (seconds: number): string => {
    // Interactions finish in bursts at the end of their last step; estimate from this session's pace.
    const finishedHere = done - resumedDone;
    if (finishedHere <= 0) return "?";
    const left = ((total - done) * seconds) / finishedHere;
    return left >= 60
      ? `${Math.floor(left / 60)}m${String(Math.round(left % 60)).padStart(2, "0")}s`
      : `${Math.round(left)}s`;
  };
  const payload = () => {
    const totals = usageMeter.totals();
    const seconds = Math.max(0.001, (performance.now() - startedAt) / 1000);
    return {
      remaining: remaining(seconds),
      calls: totals.calls,
      callsPerSecond: (totals.calls / seconds).toFixed(1),
      tokens: totals.promptTokens + totals.completionTokens,
      // The run's spend, earlier sessions included: what the budget counts and the ledger sums.
      cost: `$${usageMeter.budget().spentUsd.toFixed(4)}`,
      retries: formatRetries(totals.retries),
      retriesByCause: totals.retries,
    };
  };
  const line = (value: unknown) => stdout.write(`${JSON.stringify(value)}\n`);

  return {
    onEvent(event) {
      switch (event.type) {
        case "run-start":
          agents = event.agents;
          total = Math.max(0, event.maxRounds - event.firstRound) * agents;
          if (json) {
            line({ ...event, runDirectory });
          } else {
            stdout.write(
              `${event.resumed ? "resuming" : "starting"} run ${event.runId} in ${runDirectory}: ${agents} agents, ` +
                `rounds ${event.firstRound}-${event.maxRounds - 1} (numbered from 0, as the records' iteration)\n`,
            );
            if (stderr.isTTY && total > 0) {
              bar = new cliProgress.SingleBar(
                {
                  format:
                    "{bar} {value}/{total} interactions | {callsPerSecond} calls/s | {tokens} tokens | {cost} | {retries} | ETA {remaining}",
                  stream: stderr,
                  hideCursor: true,
                  clearOnComplete: true,
                  etaBuffer: 50,
                },
                cliProgress.Presets.shades_classic,
              );
              bar.start(total, 0, payload());
            }
          }
          return;
        case "round-start":
          done += event.alreadyComplete;
          resumedDone += event.alreadyComplete;
          bar?.update(done, payload());
          if (json) line(event);
          return;
        case "step-complete":
          bar?.update(done, payload());
          return;
        case "interaction-complete":
          done += 1;
          bar?.update(done, payload());
          return;
        case "round-end":
          if (json) {
            line({ type: "round-end", round: event.round, summary: event.summary, usage: payload() });
          } else {
            // Keep the table clear of the bar: clear the bar's line, print, then redraw it.
            if (bar !== undefined && stderr.isTTY) stderr.write("\r\u001b[2K");
            stdout.write(`${formatRoundTable(event.summary)}\n`);
            bar?.update(done, payload());
          }
          return;
        case "run-end":
          bar?.update(total, payload());
          bar?.stop();
          bar = undefined;
          if (json) {
            line({ ...event, runDirectory, usage: payload() });
          } else {
            const usage = payload();
            stdout.write(
              `done: ${event.roundsCompleted} round(s)${event.reason === "plateau" ? " (stopped at a plateau)" : ""}; ` +
                `${usage.calls} calls, ${usage.tokens} tokens, ${usage.cost} spent on the run, ${usage.retries}; ` +
                `records in ${runDirectory}/records.jsonl\n`,
            );
          }
          return;
      }
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}
