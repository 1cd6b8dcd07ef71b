import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** What a CLI run printed and returned. */
export interface CliProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const binPath = fileURLToPath(new URL("../../bin/stable-alignment.js", import.meta.url));

/**
 * Runs `stable-alignment <args>` as a real child process (tests, benchmarks). `environment` replaces
 * the child's environment entirely except PATH and HOME, so a developer's API keys never leak into a test.
 */
export function runCliProcess({
  args,
  cwd = process.cwd(),
  environment = {},
  timeoutMs = 120_000,
}: {
  args: readonly string[];
  cwd?: string;
  environment?: Record<string, string>;
  timeoutMs?: number;
}): Promise<CliProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [binPath, ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...environment },
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
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", reject);
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
