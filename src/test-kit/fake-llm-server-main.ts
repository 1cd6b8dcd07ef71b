/**
 * Runs the fake OpenAI-compatible server as its own process:
 * `node fake-llm-server-main.js [--port N] [--host H] [--latency-ms N] [--embedding-dimensions N]
 * [--score-model DIR]` (DIR: a checkpoint that answers echo scoring requests).
 * Prints one JSON line `{"url": "http://127.0.0.1:N"}` once listening; exits on SIGTERM or SIGINT.
 */
import { parseArgs } from "node:util";
import { startFakeLlmServer } from "./fake-llm-server.js";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    host: { type: "string", default: "127.0.0.1" },
    "latency-ms": { type: "string", default: "0" },
    "embedding-dimensions": { type: "string", default: "8" },
    "score-model": { type: "string" },
  },
});

function integerOption(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) {
    process.stderr.write(`fake-llm-server: --${name} must be a non-negative integer, got "${text}"\n`);
    process.exit(2);
  }
  return value;
}

const server = await startFakeLlmServer({
  port: integerOption("port", values.port),
  host: values.host,
  latencyMs: integerOption("latency-ms", values["latency-ms"]),
  embeddingDimensions: integerOption("embedding-dimensions", values["embedding-dimensions"]),
  // A long-running process must not keep every request in memory.
  recordRequests: false,
  ...(values["score-model"] === undefined ? {} : { scoreModel: values["score-model"] }),
});
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);

const stop = (): void => {
  server.close().then(() => process.exit(0));
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
