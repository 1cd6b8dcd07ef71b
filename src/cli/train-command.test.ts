/**
 * The real `train` CLI: a SIGKILL between checkpoints and `--resume` give per-step losses equal to an
 * uninterrupted run bit for bit; different settings on resume, a diverging loss and a second process
 * on the same run directory are each refused in one line.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCliProcess } from "./cli-process.js";

let directory: string;
const binPath = fileURLToPath(new URL("../../bin/stable-alignment.js", import.meta.url));

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "train-command-"));
  await writeFile(
    join(directory, "corpus.txt"),
    "Be kind and tell the truth. Hurting people is bad. I cannot help with that.\n".repeat(4),
  );
  const init = await runCliProcess({
    args: [
      "model",
      "init",
      "--config",
      "tiny",
      "--train-tokenizer",
      join(directory, "corpus.txt"),
      "--vocab",
      "300",
      "--out",
      join(directory, "model"),
    ],
  });
  expect(init.code, init.stderr).toBe(0);
  const rows = Array.from({ length: 48 }, (_, index) => ({
    query: `Question ${index}: should I be kind?`,
    responses: ["Be kind and tell the truth.", "Hurting people is bad.", "I cannot help with that."],
    scores: [7, 1 + (index % 3), 4],
    models: ["a", "a", "a"],
    kind: ["imitation", "self-critic", "realignment"][index % 3],
  }));
  await writeFile(join(directory, "sa.json"), JSON.stringify(rows));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

const trainArgs = (out: string, extra: string[] = []) => [
  "train",
  "--model",
  join(directory, "model"),
  "--data",
  join(directory, "sa.json"),
  "--out",
  out,
  "--threads",
  "1",
  "--epochs",
  "3",
  "--grad-accum",
  "2",
  "--save-every",
  "4",
  "--eval-every",
  "8",
  "--json",
  ...extra,
];

async function stepLosses(out: string): Promise<{ step: number; loss: number; gradientNorm: number }[]> {
  const lines = (await readFile(join(out, "metrics.jsonl"), "utf8")).trim().split("\n");
  return lines
    .map((line) => JSON.parse(line) as { type: string; step: number; loss: number; gradientNorm: number })
    .filter((record) => record.type === "step")
    .map(({ step, loss, gradientNorm }) => ({ step, loss, gradientNorm }));
}

describe("train", () => {
  it("resumes after SIGKILL between checkpoints with losses equal bit for bit", async () => {
    const straight = join(directory, "straight");
    const whole = await runCliProcess({ args: trainArgs(straight) });
    expect(whole.code, whole.stderr).toBe(0);
    const expected = await stepLosses(straight);
    expect(expected.length).toBeGreaterThan(40);
    expect(existsSync(join(straight, "model", "model.safetensors"))).toBe(true);

    const killed = join(directory, "killed");
    const child = spawn(process.execPath, [binPath, ...trainArgs(killed)], { stdio: ["ignore", "pipe", "pipe"] });
    // Kill once the step-12 checkpoint exists and a few more steps ran after it.
    let output = "";
    await new Promise<void>((resolve) => {
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        output += chunk;
        if (/"type":"step","step":14,/.test(output) && !child.killed) {
          child.kill("SIGKILL");
          resolve();
        }
      });
      child.once("close", () => resolve());
    });
    await new Promise((resolve) => child.once("close", resolve));
    expect(child.signalCode).toBe("SIGKILL");
    expect(existsSync(join(killed, "model"))).toBe(false);
    const resumed = await runCliProcess({ args: trainArgs(killed, ["--resume"]) });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/"resumedAt":\{"step":12,/);
    expect(await stepLosses(killed)).toEqual(expected);
  });

  it("refuses --resume with a different setting, naming the flag", async () => {
    const out = join(directory, "straight");
    const result = await runCliProcess({ args: trainArgs(out, ["--resume", "--lr", "0.5"]) });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split("\n").at(-1)).toMatch(
      /^error: --resume with a different --lr \(0\.001 in the run, 0\.5 now\)/,
    );
  });

  it("trains LoRA adapters: the PEFT adapter in <out>/adapter and, with --merge, the merged model in <out>/model", async () => {
    const out = join(directory, "lora");
    const args = trainArgs(out, ["--epochs", "1", "--lora-rank", "2", "--lora-targets", "q,v,down", "--merge"]);
    const result = await runCliProcess({ args });
    expect(result.code, result.stderr).toBe(0);
    const config = JSON.parse(await readFile(join(out, "adapter", "adapter_config.json"), "utf8"));
    expect(config).toMatchObject({
      peft_type: "LORA",
      r: 2,
      lora_alpha: 4,
      target_modules: ["q_proj", "v_proj", "down_proj"],
    });
    expect(existsSync(join(out, "adapter", "adapter_model.safetensors"))).toBe(true);
    expect(existsSync(join(out, "model", "model.safetensors"))).toBe(true);
    expect(result.stdout).toContain(`"adapter":"${join(out, "adapter")}"`);
  });

  it.each([
    { extra: ["--merge"], message: /^error: --merge needs --lora-rank/ },
    {
      extra: ["--lora-rank", "2", "--lora-targets", "q,lm_head"],
      message: /--lora-targets takes q, k, v, o, gate, up, down, got "lm_head"/,
    },
  ])("refuses $extra in one line", async ({ extra, message }) => {
    const out = join(directory, "lora-refused");
    const result = await runCliProcess({ args: trainArgs(out, extra) });
    expect(result.code).not.toBe(0);
    const errors = result.stderr.split("\n").filter((line) => line.startsWith("error:"));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(message);
    expect(existsSync(out)).toBe(false);
  });

  it("stops a diverging run naming the step and the batch's sources", async () => {
    const out = join(directory, "diverged");
    const result = await runCliProcess({ args: trainArgs(out, ["--lr", "1e30", "--warmup", "0"]) });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/error: the loss became NaN or infinite at step \d+; batch sources: "Question \d+/);
    expect(result.stderr).not.toMatch(/unexpected failure/);
  });
});
