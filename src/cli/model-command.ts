/**
 * `stable-alignment model init|info|export|generate`: create a model directory (preset or
 * config.json, with a tokenizer loaded or trained), describe one, export it to GGUF or safetensors,
 * and run one prompt on any model spec, so the same prompt can run on our engine (`local:<dir>`)
 * and on llama.cpp (`gguf:<file>`). The work is in src/model and src/llm; this file parses flags
 * and prints.
 */
import { type Command, Option } from "commander";
import { createBlas } from "../engine/index.js";
import {
  defaultVocabularySize,
  describeModel,
  exportModel,
  initializeModel,
  type ModelDescription,
} from "../model/model-directory.js";
import { UsageError } from "../spec/errors.js";
import { createCliContext, resolveCommandOptions } from "./cli-context.js";
import { addSamplingOptions, type GenerateOptions, runGenerate } from "./generate-command.js";
import { integerOption, modelSpecOption } from "./option-parsers.js";
import { checkOutputPath } from "./output-path.js";

interface InitOptions {
  config?: string;
  tokenizer?: string;
  trainTokenizer?: string[];
  vocab?: number;
  out: string;
  seed: number;
  force?: boolean;
}

interface ExportOptions {
  format: "gguf" | "safetensors";
  dtype?: string;
  out: string;
}

/** Registers `model` and its subcommands on the program. */
export function registerModelCommand(program: Command): void {
  const model = program.command("model").description("create, inspect, export and try model checkpoints");

  model
    .command("init")
    .description("create a model directory: config, initial weights and a tokenizer")
    // The program's own --config (the settings file) is recognised after subcommands too, so it may
    // take this value first; init reads no settings file and looks in both places.
    .option("--config <preset|config.json>", "tiny, small, 30m, or a Hugging Face config.json")
    .option("--tokenizer <dir>", "use the tokenizer.json (and tokenizer_config.json) in this directory")
    .option("--train-tokenizer <files...>", "train a byte-level BPE tokenizer on these text files")
    .option(
      "--vocab <n>",
      "vocabulary size for --train-tokenizer",
      integerOption("--vocab", { min: 259, max: 1 << 20 }),
    )
    .requiredOption("--out <dir>", "directory to write (written whole, then renamed into place)")
    .option("--force", "replace an existing --out directory")
    .option("--seed <n>", "weight initialisation seed", integerOption("--seed", { min: 0 }), 0)
    .action(async (_options: InitOptions, command: Command) => {
      // The program's --config and this one merge here, whichever took the value.
      const options = command.optsWithGlobals<InitOptions>();
      const shape = options.config;
      if (shape === undefined) {
        throw new UsageError("model init needs --config <tiny|small|30m|config.json>", { field: "--config" });
      }
      if ((options.tokenizer === undefined) === (options.trainTokenizer === undefined)) {
        throw new UsageError("give exactly one of --tokenizer <dir> or --train-tokenizer <files...>", {
          field: "--tokenizer",
        });
      }
      if (options.vocab !== undefined && options.trainTokenizer === undefined) {
        throw new UsageError("--vocab applies to --train-tokenizer only", { field: "--vocab" });
      }
      checkOutputPath({ path: options.out, flag: "--out", kind: "directory" });
      const result = await initializeModel({
        shape,
        tokenizer:
          options.tokenizer !== undefined
            ? { kind: "directory", directory: options.tokenizer }
            : {
                kind: "train",
                files: options.trainTokenizer ?? [],
                vocabularySize: options.vocab ?? defaultVocabularySize(shape),
              },
        directory: options.out,
        replace: options.force === true,
        blas: createBlas(),
        seed: options.seed,
      });
      const { config } = result;
      const lines = [
        `wrote ${options.out}: ${result.files.join(", ")}`,
        `${config.family}: ${config.layers} layers, d ${config.hiddenSize}, ${config.heads} heads (${config.kvHeads} key/value), ffn ${config.intermediateSize}, vocabulary ${config.vocabularySize}, ${(result.parameters / 1e6).toFixed(2)} M parameters`,
      ];
      if (result.mergeCount !== undefined) lines.push(`tokenizer: trained, ${result.mergeCount} merges`);
      process.stdout.write(`${lines.join("\n")}\n`);
    });

  model
    .command("info")
    .description("describe a model directory: shape, parameters, dtypes, tokenizer, GGUF readiness")
    .argument("<dir>", "model directory (config.json + safetensors)")
    .option("--json", "print the description as JSON")
    .action(async (directory: string, _options: { json?: boolean }, command: Command) => {
      const context = createCliContext(command);
      const options = resolveCommandOptions<{ json?: boolean }>(command, context);
      const description = await describeModel({ directory });
      context.stdout.write(
        options.json ? `${JSON.stringify(description, null, 2)}\n` : `${formatDescription(description)}\n`,
      );
    });

  model
    .command("export")
    .description("export a model directory to GGUF (llama.cpp, Ollama, LM Studio) or safetensors")
    .argument("<dir>", "model directory")
    .addOption(new Option("--format <format>", "output format").choices(["gguf", "safetensors"]).makeOptionMandatory())
    .option("--dtype <dtype>", "gguf: f32 (default) or f16; safetensors: f32 (default), f16 or bf16")
    .requiredOption("--out <path>", "the .gguf file, or the safetensors directory")
    .action(async (directory: string, _options: ExportOptions, command: Command) => {
      const context = createCliContext(command);
      const options = resolveCommandOptions<ExportOptions & Record<string, unknown>>(command, context);
      const dtype = (options.dtype ?? "f32").toLowerCase();
      const allowed = options.format === "gguf" ? ["f32", "f16"] : ["f32", "f16", "bf16"];
      if (!allowed.includes(dtype)) {
        throw new UsageError(
          `--dtype ${options.dtype} is not available for ${options.format} (use ${allowed.join(", ")})`,
          {
            field: "--dtype",
          },
        );
      }
      checkOutputPath({ path: options.out, flag: "--out", kind: options.format === "gguf" ? "file" : "directory" });
      const started = performance.now();
      const { files } =
        options.format === "gguf"
          ? await exportModel({ directory, out: options.out, format: "gguf", dtype: dtype as "f32" | "f16" })
          : await exportModel({
              directory,
              out: options.out,
              format: "safetensors",
              dtype: dtype.toUpperCase() as "F32" | "F16" | "BF16",
            });
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      context.stdout.write(
        `exported ${directory} as ${options.format} ${dtype} in ${seconds} s: ${files.join(", ")}\n`,
      );
    });

  const generate = model
    .command("generate")
    .description("run one prompt on any model spec (local:<dir> runs on this toolkit's engine)")
    .requiredOption(
      "--model <spec>",
      "local:<dir>, hf:<owner>/<repo>[@revision] (checkpoint), gguf:<path>, hf:<owner>/<repo>/<file>.gguf, openai:<model>[@url]",
      modelSpecOption("--model"),
    )
    .requiredOption("--prompt <text>", "text to continue (or the user message with --chat)")
    .option("--chat", "send the prompt as a chat message through the model's chat template");
  addSamplingOptions(generate, { defaultMaxTokens: 64 }).action(async (_options: unknown, command: Command) => {
    const context = createCliContext(command);
    const options = resolveCommandOptions<Omit<GenerateOptions, "mode"> & { chat?: boolean }>(command, context);
    await runGenerate({ context, options: { ...options, mode: options.chat ? "chat" : "completion" } });
  });
}

function formatDescription(description: ModelDescription): string {
  const { config, tokenizer } = description;
  const dtypes = Object.entries(description.dtypes)
    .map(([dtype, count]) => `${dtype} x${count}`)
    .join(", ");
  const lines = [
    `model: ${description.directory}`,
    `architecture: ${config.family}${config.queryKeyValueBias ? " (q/k/v biases)" : ""}, ${config.layers} layers, d ${config.hiddenSize}, ${config.heads} heads of ${description.headDimension} (${config.kvHeads} key/value), ffn ${config.intermediateSize}`,
    `vocabulary: ${config.vocabularySize}, context ${config.maxPositions}, rope theta ${config.ropeTheta}, rms eps ${config.rmsNormEpsilon}, ${config.tieWordEmbeddings ? "tied" : "untied"} embeddings`,
    `parameters: ${(description.parameters / 1e6).toFixed(2)} M; stored ${dtypes} in ${description.files.length} file(s), ${(description.storedBytes / 1024 ** 2).toFixed(1)} MB`,
  ];
  if (tokenizer) {
    lines.push(
      `tokenizer: ${tokenizer.vocabularySize} tokens, bos ${tokenizer.bosToken ?? "none"}, eos ${tokenizer.eosToken ?? "none"}, chat template ${tokenizer.chatTemplate ? "yes" : "no"}`,
      `gguf export: ${tokenizer.ggufPreTokenizer ? `ready (architecture ${description.ggufArchitecture}, pre-tokenizer ${tokenizer.ggufPreTokenizer})` : "not possible: llama.cpp knows no pre-tokenizer matching this tokenizer"}`,
    );
  } else {
    lines.push("tokenizer: none (no tokenizer.json); generation and GGUF export need one");
  }
  return lines.join("\n");
}
