/**
 * A trained model served by a configured server command (recipe `serving: {kind: server}`): the
 * command runs in its own process group with `{model}` replaced by the model's GGUF path (quoted for
 * the shell), the society talks to it as `openai:<model>@<url>` once `<url>/models` answers, and
 * `close()` ends the whole group. Nothing of the command's output is interpreted.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { probeEndpoint } from "../llm/endpoint-probe.js";
import { ConfigError } from "../spec/errors.js";

/** Options of {@link startModelServer}. */
export interface StartModelServerOptions {
  /** Shell command line; `{model}` is replaced by `model`. */
  command: string;
  /** The GGUF file to serve. */
  model: string;
  /** The server's OpenAI-compatible base URL, e.g. `http://127.0.0.1:8081/v1`. */
  url: string;
  /** Milliseconds to wait for `<url>/models` to answer. Default 120,000. */
  readyTimeoutMs?: number;
  signal?: AbortSignal;
}

/** A started server. */
export interface ModelServer {
  /** Ends the command's process group (SIGTERM, then SIGKILL after 5 s). */
  close(): Promise<void>;
}

const shellQuote = (text: string): string => `'${text.replaceAll("'", "'\\''")}'`;

function endGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve();
  const pid = child.pid;
  return new Promise((resolve) => {
    const killTimer = setTimeout(() => {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }, 5000);
    child.once("exit", () => {
      clearTimeout(killTimer);
      resolve();
    });
    try {
      process.kill(-pid, "SIGTERM");
    } catch {
      clearTimeout(killTimer);
      resolve();
    }
  });
}

/** Starts the command and resolves once it answers; ConfigError naming `serving.command` otherwise. */
export async function startModelServer({
  command,
  model,
  url,
  readyTimeoutMs = 120_000,
  signal,
}: StartModelServerOptions): Promise<ModelServer> {
  const child = spawn(command.replaceAll("{model}", shellQuote(model)), {
    shell: true,
    detached: true,
    stdio: "ignore",
  });
  let exited: string | undefined;
  child.once("exit", (code, exitSignal) => {
    exited = exitSignal ?? `code ${code}`;
  });
  child.once("error", (error) => {
    exited = error.message;
  });
  const server: ModelServer = { close: () => endGroup(child) };
  const deadline = Date.now() + readyTimeoutMs;
  const modelsUrl = `${url.replace(/\/+$/, "")}/models`;
  while (Date.now() < deadline) {
    if (exited !== undefined) {
      throw new ConfigError(
        `recipe field "serving.command": the server exited (${exited}) before answering ${modelsUrl}`,
        {
          field: "serving.command",
        },
      );
    }
    if (signal?.aborted) break;
    // Not listening yet unless it answers 2xx.
    const probe = await probeEndpoint({ baseURL: url, timeoutMs: 2000 });
    if (probe.answered && probe.status >= 200 && probe.status < 300) return server;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  await server.close();
  throw new ConfigError(
    signal?.aborted
      ? `recipe field "serving.command": stopped while waiting for ${modelsUrl}`
      : `recipe field "serving.command": no answer from ${modelsUrl} within ${Math.round(readyTimeoutMs / 1000)} s`,
    { field: "serving.command" },
  );
}
