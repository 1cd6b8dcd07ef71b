import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const runPath = fileURLToPath(new URL("./run.ts", import.meta.url));

/** Runs `npm run bench -- train-throughput` on the tiny preset (one step, no PyTorch); resolves its output. */
function runBench(extraArgs: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      runPath,
      "train-throughput",
      "--configs",
      "tiny",
      "--steps",
      "1",
      "--warmup",
      "0",
      "--rounds",
      "1",
      "--python",
      "/nonexistent/python3",
      ...extraArgs,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
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

describe("bench train-throughput", () => {
  it("names the BLAS on its first line and warns, with the install command, when none native loads", async () => {
    const { code, stdout, stderr } = await runBench(["--blas-library", "/nonexistent/libblas.so.3"]);
    expect(code).toBe(0);
    const [first] = stderr.split("\n");
    expect(first).toMatch(
      /^engine: BLAS pure TypeScript matrix multiply.*\/nonexistent\/libblas\.so\.3.*WARNING: no native BLAS/,
    );
    expect(first).toMatch(/install OpenBLAS: (apt-get install libopenblas0-pthread|brew install openblas)$/);
    const result = JSON.parse(stdout.trim()) as { config: string; ours: { engine: string } };
    expect(result.config).toBe("tiny");
    expect(result.ours.engine).toMatch(/^pure TypeScript matrix multiply/);
  });
});
