import { describe, expect, it } from "vitest";
import { createUsageMeter } from "../llm/middleware/usage-meter.js";
import { createSimulateReporter, formatRetries } from "./simulate-progress.js";

function sink(): NodeJS.WritableStream & { text: string; isTTY?: boolean } {
  const stream = {
    text: "",
    isTTY: false,
    write(chunk: string) {
      stream.text += chunk;
      return true;
    },
  };
  return stream as unknown as NodeJS.WritableStream & { text: string; isTTY?: boolean };
}

describe("simulate progress", () => {
  it("says retries in one phrase, naming only the causes seen", () => {
    const none = { "rate-limit": 0, "server-error": 0, "bad-body": 0, timeout: 0, connection: 0 };
    expect(formatRetries(none)).toBe("0 retries");
    expect(formatRetries({ ...none, timeout: 1 })).toBe("1 retry (timeout 1)");
    expect(formatRetries({ ...none, "rate-limit": 2, "bad-body": 3, connection: 1 })).toBe(
      "6 retries (429 2, bad body 3, connection 1)",
    );
  });

  it("ends the run with the run's spend (earlier sessions included) and the retries by cause", () => {
    const meter = createUsageMeter({ spentUsd: 0.25 });
    meter.recordRetry({ modelId: "m", cause: "bad-body", attempt: 1, delayMs: 1 });
    meter.recordRetry({ modelId: "m", cause: "server-error", attempt: 2, delayMs: 1 });
    for (const json of [false, true]) {
      const stdout = sink();
      const reporter = createSimulateReporter({ stdout, stderr: sink(), json, usageMeter: meter, runDirectory: "/r" });
      reporter.onEvent({ type: "run-end", runId: "x", roundsCompleted: 1, reason: "rounds" });
      reporter.stop();
      if (json) {
        const line = JSON.parse(stdout.text) as { usage: { cost: string; retriesByCause: Record<string, number> } };
        expect(line.usage.cost).toBe("$0.2500");
        expect(line.usage.retriesByCause).toMatchObject({ "bad-body": 1, "server-error": 1, timeout: 0 });
      } else {
        expect(stdout.text).toContain("$0.2500 spent on the run, 2 retries (5xx 1, bad body 1)");
      }
    }
  });
});
