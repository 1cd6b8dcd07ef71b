import { type Command, Option } from "commander";
import { parseModelSpec } from "../llm/model-spec.js";
import { UsageError } from "../spec/errors.js";
import type { GenerateRequest, SamplingOptions } from "../spec/language-model.js";
import { type CliContext, createCliContext, resolveCommandOptions } from "./cli-context.js";
import { createDownloadProgressReporter } from "./download-progress.js";
import { createModelFactory } from "./model-factory.js";
import { integerOption, modelSpecOption, numberOption } from "./option-parsers.js";

/** What one `generate` (or `model generate`) call does. */
export interface GenerateOptions {
  model: string;
  prompt: string;
  /** Chat (the prompt is the user message) or plain completion (the prompt is continued). */
  mode: "chat" | "completion";
  system?: string;
  greedy?: boolean;
  temperature?: number;
  topP?: number;
  maxTokens: number;
  stop?: string[];
  seed?: number;
  json?: boolean;
  /** BLAS threads for `local:` models. */
  threads?: number;
  allowTestModels?: boolean;
}

/** Adds the sampling flags shared by `generate` and `model generate`. */
export function addSamplingOptions(command: Command, { defaultMaxTokens }: { defaultMaxTokens: number }): Command {
  return command
    .option("--greedy", "temperature 0: always the most likely token")
    .option("--temperature <t>", "sampling temperature", numberOption("--temperature", { min: 0, max: 2 }))
    .option("--top-p <p>", "nucleus sampling mass", numberOption("--top-p", { min: 0, max: 1 }))
    .option("--max-tokens <n>", "most new tokens", integerOption("--max-tokens", { min: 1 }), defaultMaxTokens)
    .option("--stop <text...>", "stop before any of these strings")
    .option("--seed <n>", "sampling seed", integerOption("--seed"))
    .option("--threads <n>", "BLAS threads for local: models", integerOption("--threads", { min: 1 }))
    .option("--json", "print the result as one JSON object (text, usage, cost, latency)")
    .addOption(new Option("--allow-test-models", "accept scripted: test models").hideHelp());
}

/** `stable-alignment generate`: one call to any model spec, to check that an endpoint or file works. */
export function registerGenerateCommand(program: Command): void {
  const command = program
    .command("generate")
    .description("send one prompt to a model and print the answer (does my endpoint work?)")
    .requiredOption(
      "--model <spec>",
      "model spec: openai:<model>[@url,...], openai-completion:<model>[@url], gguf:<path>, hf:<owner>/<repo>/<file>.gguf, hf:<owner>/<repo>[@revision] (checkpoint), local:<dir>",
      modelSpecOption("--model"),
    )
    .requiredOption("--prompt <text>", "the user message (or the text to continue with --completion)")
    .option("--system <text>", "a system message (chat only)")
    .option("--completion", "plain text completion instead of chat");
  addSamplingOptions(command, { defaultMaxTokens: 256 }).action(async (_options: unknown, self: Command) => {
    const context = createCliContext(self);
    const options = resolveCommandOptions<Omit<GenerateOptions, "mode"> & { completion?: boolean }>(self, context);
    if (options.completion && options.system !== undefined) {
      throw new UsageError("--system applies to chat; drop it or drop --completion", { field: "--system" });
    }
    const parsed = parseModelSpec(options.model);
    if (!options.completion && parsed.provider === "openai" && parsed.api === "completion") {
      throw new UsageError(`${options.model} is a completion model: add --completion`, { field: "--completion" });
    }
    await runGenerate({ context, options: { ...options, mode: options.completion ? "completion" : "chat" } });
  });
}

/** Sends one prompt to the model and prints the answer (text, or one JSON object with `json`). */
export async function runGenerate({
  context,
  options,
}: {
  context: CliContext;
  options: GenerateOptions;
}): Promise<void> {
  const factory = createModelFactory({
    context,
    allowTestModels: options.allowTestModels === true,
    ...(options.threads === undefined ? {} : { localThreads: options.threads }),
    onDownloadProgress: createDownloadProgressReporter(context.stderr),
  });
  try {
    const model = await factory.languageModel(options.model);
    const sampling: SamplingOptions = {
      maxTokens: options.maxTokens,
      ...(options.greedy
        ? { temperature: 0 }
        : options.temperature === undefined
          ? {}
          : { temperature: options.temperature }),
      ...(options.topP === undefined ? {} : { topP: options.topP }),
      ...(options.stop === undefined ? {} : { stop: options.stop }),
      ...(options.seed === undefined ? {} : { seed: options.seed }),
    };
    const request: GenerateRequest =
      options.mode === "completion"
        ? { prompt: options.prompt, sampling }
        : {
            messages: [
              ...(options.system === undefined ? [] : [{ role: "system" as const, content: options.system }]),
              { role: "user" as const, content: options.prompt },
            ],
            sampling,
          };
    const started = performance.now();
    const result = await model.generate(request);
    const latencyMs = Math.round(performance.now() - started);
    const costUsd = factory.usageMeter.totals().costUsd;
    if (options.json) {
      context.stdout.write(
        `${JSON.stringify({ model: options.model, text: result.text, finishReason: result.finishReason, usage: result.usage, costUsd, latencyMs })}\n`,
      );
      return;
    }
    context.stdout.write(`${result.text}\n`);
    const tokensPerSecond = (result.usage.completionTokens * 1000) / Math.max(latencyMs, 1);
    context.stderr.write(
      `(${result.usage.promptTokens} prompt + ${result.usage.completionTokens} completion tokens, $${costUsd.toFixed(6)}, ${latencyMs} ms, ${tokensPerSecond.toFixed(1)} tokens/s, finish: ${result.finishReason})\n`,
    );
  } finally {
    await factory.close();
  }
}
