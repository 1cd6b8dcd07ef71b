/**
 * The shipped example recipes are valid and `experiment plan` plans them (nodes and estimates), run as
 * the CLI in a child process with no network.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runCliProcess } from "./cli-process.js";

const examples = fileURLToPath(new URL("../../examples/", import.meta.url));

describe("example recipes", () => {
  it("experiment plan: the tiny recipe has two generations of nodes, a GGUF export between them, and a training estimate", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "plan-tiny-")), "out");
    const result = await runCliProcess({
      args: ["experiment", "plan", join(examples, "experiment-tiny.yaml"), "--out", out],
      environment: { STABLE_ALIGNMENT_CACHE: join(out, "..", "cache") },
    });
    expect(result.code, result.stderr).toBe(0);
    const nodes = [...result.stdout.matchAll(/^ {2}run +(\S+)-[0-9a-f]{16}$/gm)].map((match) => match[1]);
    expect(nodes).toEqual([
      "model-init",
      "evaluation-0",
      "society-1",
      "data-1",
      "train-1",
      "evaluation-1",
      "export-1",
      "society-2",
      "data-2",
      "train-2",
      "evaluation-2",
    ]);
    expect(result.stdout).toMatch(/generation 2: about \d+ tokens, \d+\.\d min/);
  });

  it("experiment plan: the Qwen2.5-0.5B LoRA recipe's training time comes from the measured 0.5B rate, marked as an estimate", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "plan-qwen-")), "out");
    const result = await runCliProcess({
      args: ["experiment", "plan", join(examples, "experiment-qwen-lora.yaml"), "--out", out],
      environment: { STABLE_ALIGNMENT_CACHE: join(out, "..", "cache") },
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("train-3-");
    expect(result.stdout).toContain("training (estimate):");
    expect(result.stdout).toContain("19.65 tokens/s at 494032768 parameters");
    const minutes = Number(/generation 1: about \d+ tokens, (\d+\.\d) min/.exec(result.stdout)?.[1]);
    expect(minutes).toBeGreaterThan(1);
    expect(result.stdout).toMatch(/expected wall time \(estimate\): training \d+\.\d min, societies \d+\.\d min/);
    // The society cost comes from estimateSimulation: the OpenAI observer is priced, the GGUF agents are free.
    const society =
      /generation 1: chat calls (\d+), embedding calls 0, prompt tokens (\d+), completion tokens (\d+), USD (\d+\.\d+)/.exec(
        result.stdout,
      );
    expect(Number(society?.[1])).toBeGreaterThan(25 * 4);
    expect(Number(society?.[4])).toBeGreaterThan(0);
  });
});
