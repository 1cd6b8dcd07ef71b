import { type Command, Option } from "commander";
import { ConfigError } from "../spec/errors.js";
import type { GenerateRequest, SamplingOptions } from "../spec/language-model.js";
import { createCliContext, resolveCommandOptions } from "./cli-context.js";
import { createDownloadProgressReporter } from "./download-progress.js";
import { createModelFactory } from "./model-factory.js";
import { integerOption, numberOption } from "./option-parsers.js";

interface GenerateOptions {
  model: string;
  prompt: string;
  system?: string;
  completion?: boolean;
  greedy?: boolean;
  temperature?: number;
  topP?: number;
  maxTokens: number;
  stop?: string[];
  seed?: number;
  json?: boolean;
  allowTestModels?: boolean;
}

/** `stable-alignment generate`: one call to any model spec, to check that an endpoint or file works. */
export function registerGenerateCommand(program: Command): void {
  program
    .command("generate")
    .description("send one prompt to a model and print the answer (does my endpoint work?)")
    .requiredOption(
      "--model <spec>",
      "model spec: openai:<model>[@url,...], gguf:<path>, hf:<owner>/<repo>/<file>.gguf",
    )
    .requiredOption("--prompt <text>", "the user message (or the text to continue with --completion)")
    .option("--system <text>", "a system message (chat only)")
    .option("--completion", "plain text completion instead of chat")
    .option("--greedy", "temperature 0: always the most likely token")
    .option("--temperature <t>", "sampling temperature", numberOption("--temperature", { min: 0, max: 2 }))
    .option("--top-p <p>", "nucleus sampling mass", numberOption("--top-p", { min: 0, max: 1 }))
    .option("--max-tokens <n>", "most new tokens", integerOption("--max-tokens", { min: 1 }), 256)
    .option("--stop <text...>", "stop before any of these strings")
    .option("--seed <n>", "sampling seed", integerOption("--seed"))
    .option("--json", "print the result as one JSON object (text, usage, cost, latency)")
    .addOption(new Option("--allow-test-models", "accept scripted: test models").hideHelp())
    .action(async (_options: GenerateOptions, command: Command) => {
      const context = createCliContext(command);
      const options = resolveCommandOptions<GenerateOptions & Record<string, unknown>>(command, context);
      if (options.completion && options.system !== undefined) {
        throw new ConfigError("--system applies to chat; drop it or drop --completion", {
          field: "--system",
        });
      }
      const factory = createModelFactory({
        context,
        allowTestModels: options.allowTestModels === true,
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
        const request: GenerateRequest = options.completion
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
        const totals = factory.usageMeter.totals();
        if (options.json) {
          context.stdout.write(
            `${JSON.stringify({
              model: options.model,
              text: result.text,
              finishReason: result.finishReason,
              usage: result.usage,
              costUsd: totals.costUsd,
              latencyMs,
            })}\n`,
          );
        } else {
          context.stdout.write(`${result.text}\n`);
          context.stderr.write(
            `(${result.usage.promptTokens} prompt + ${result.usage.completionTokens} completion tokens, $${totals.costUsd.toFixed(6)}, ${latencyMs} ms, finish: ${result.finishReason})\n`,
          );
        }
      } finally {
        await factory.close();
      }
    });
}
