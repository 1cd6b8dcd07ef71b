import { resolve } from "node:path";
import type { Command } from "commander";
import { startFakeLlmServer } from "../test-kit/fake-llm-server.js";
import { integerOption } from "./option-parsers.js";

/** `stable-alignment dev ...`: developer tools. `dev fake-llm` serves a fake OpenAI-compatible API for demos. */
export function registerDevCommand(program: Command): void {
  const dev = program.command("dev").description("developer tools (fake endpoints for demos and tests)");
  dev
    .command("fake-llm")
    .description("serve a fake OpenAI-compatible API on 127.0.0.1 (seeded answers) until interrupted")
    .option("--port <n>", "TCP port (0 picks a free one)", integerOption("--port", { min: 0, max: 65535 }), 8080)
    .option("--host <address>", "address to listen on", "127.0.0.1")
    .option("--latency-ms <ms>", "delay before each answer, milliseconds", integerOption("--latency-ms", { min: 0 }), 0)
    .option(
      "--score-model <dir>",
      "a local: checkpoint directory that answers /v1/completions with echo and logprobs as vLLM does",
    )
    .action(async (options: { port: number; host: string; latencyMs: number; scoreModel?: string }) => {
      const server = await startFakeLlmServer({
        port: options.port,
        host: options.host,
        latencyMs: options.latencyMs,
        recordRequests: false,
        ...(options.scoreModel === undefined ? {} : { scoreModel: resolve(options.scoreModel) }),
      });
      process.stdout.write(
        `fake OpenAI-compatible server on ${server.url}/v1\n` +
          `use it as: --agent-model openai:fake@${server.url}/v1 --observer-model openai:fake@${server.url}/v1\n` +
          "press Ctrl-C to stop\n",
      );
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
      await server.close();
    });
}
