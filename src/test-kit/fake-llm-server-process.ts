/** The fake OpenAI-compatible server in a child process, so its CPU does not count against the caller's (benchmarks). */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { FakeLlmServerOptions } from "./fake-llm-server.js";

/** A fake server running in a child process (so its CPU does not count against the caller's). */
export interface FakeLlmServerProcess {
  readonly url: string;
  readonly child: ChildProcess;
  close(): Promise<void>;
}

/**
 * Starts the fake server in a child Node process (`fake-llm-server-main`), answering with seeded text.
 * Under TypeScript sources the child loads them through tsx.
 */
export async function spawnFakeLlmServer({
  port = 0,
  host = "127.0.0.1",
  latencyMs = 0,
  embeddingDimensions = 8,
  scoreModel,
}: Omit<FakeLlmServerOptions, "respond" | "models" | "recordRequests"> = {}): Promise<FakeLlmServerProcess> {
  const fromSources = import.meta.url.endsWith(".ts");
  const mainPath = fileURLToPath(new URL(`./fake-llm-server-main.${fromSources ? "ts" : "js"}`, import.meta.url));
  const args = [
    ...(fromSources ? ["--import", "tsx"] : []),
    mainPath,
    "--port",
    String(port),
    "--host",
    host,
    "--latency-ms",
    String(latencyMs),
    "--embedding-dimensions",
    String(embeddingDimensions),
    ...(scoreModel === undefined ? [] : ["--score-model", scoreModel]),
  ];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NonNullable<typeof child.stdout> });
    lines.once("line", (line) => {
      try {
        resolve((JSON.parse(line) as { url: string }).url);
      } catch (error) {
        reject(error);
      }
    });
    child.once("exit", (code) =>
      reject(new Error(`fake LLM server process exited with code ${code} before listening`)),
    );
    child.once("error", reject);
  });
  return {
    url,
    child,
    async close() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}
