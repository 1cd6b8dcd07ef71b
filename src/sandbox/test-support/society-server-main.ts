/**
 * A fake OpenAI-compatible server that answers like a society (scripted-society.ts), as its own
 * process so its CPU does not count against a benchmark: `node society-server-main.js --latency-ms N`.
 * Prints `{"url": ...}` once listening; exits on SIGTERM or SIGINT.
 */
import { parseArgs } from "node:util";
import { startFakeLlmServer } from "../../test-kit/fake-llm-server.js";
import { societyAnswer } from "./scripted-society.js";

const { values } = parseArgs({ options: { "latency-ms": { type: "string", default: "0" } } });
const server = await startFakeLlmServer({
  latencyMs: Number(values["latency-ms"]),
  recordRequests: false,
  respond: ({ body }) => societyAnswer(body as Parameters<typeof societyAnswer>[0]),
});
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
const stop = (): void => {
  server.close().then(() => process.exit(0));
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
