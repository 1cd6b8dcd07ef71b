import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const runPath = fileURLToPath(new URL("./run.ts", import.meta.url));

/** Runs `npm run bench -- train-objectives` with `args`; resolves its exit code and output. */
function runBench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", runPath, "train-objectives", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  return new Promise((resolve) => child.once("close", (code) => resolve({ code, stdout, stderr })));
}

describe("bench train-objectives", () => {
  it("prints one line per objective with our rate, and says PyTorch is missing instead of inventing a ratio", async () => {
    const { code, stdout, stderr } = await runBench([
      "--config",
      "tiny",
      "--steps",
      "1",
      "--warmup",
      "0",
      "--prompts-per-step",
      "2",
      "--python",
      "/nonexistent/python3",
    ]);
    expect(code, stderr).toBe(0);
    const [engineLine, skipped] = stderr.split("\n");
    expect(engineLine).toMatch(/^engine: BLAS /);
    expect(skipped).toMatch(/^PyTorch side skipped: \/nonexistent\/python3 not found/);
    const lines = stdout
      .trim()
      .split("\n")
      .map(
        (line) =>
          JSON.parse(line) as {
            objective: string;
            numComp: number;
            tokensPerStep: number;
            oursTokensPerSecond: number;
            ratio: number | null;
            stepZero: { oursLoss: number; pytorchLoss: number | null };
            pytorch: { missing?: string };
          },
      );
    expect(lines.map((line) => line.objective)).toEqual(["sft", "stable-alignment", "dpo"]);
    for (const line of lines) {
      expect(line.numComp).toBe(3);
      expect(line.oursTokensPerSecond).toBeGreaterThan(0);
      expect(line.ratio).toBeNull();
      expect(line.stepZero.pytorchLoss).toBeNull();
      expect(line.pytorch.missing).toMatch(/not found/);
    }
    const [sft, stableAlignment, dpo] = lines;
    // SFT trains the best response only, Stable Alignment all three, DPO best and worst.
    expect(sft?.tokensPerStep).toBeLessThan(dpo?.tokensPerStep as number);
    expect(dpo?.tokensPerStep).toBeLessThan(stableAlignment?.tokensPerStep as number);
    // DPO starts with the policy equal to its reference: loss log 2.
    expect(dpo?.stepZero.oursLoss).toBeCloseTo(Math.LN2, 12);
  });

  it("refuses an objective it does not bench in one line naming the flag", async () => {
    const { code, stdout, stderr } = await runBench(["--objectives", "sft,rrhf"]);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr.trim()).toBe("bench train-objectives: --objectives: rrhf is not one of sft, stable-alignment, dpo");
  });
});
