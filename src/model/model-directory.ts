/**
 * Whole model directories: create a fresh one (config, initial weights, tokenizer), describe one,
 * and export one to GGUF or to safetensors in another dtype. The `model` commands are thin wrappers
 * over these.
 */
import { copyFile, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Blas } from "../engine/index.js";
import { ConfigError, InputError } from "../spec/errors.js";
import { writeDirectoryAtomically } from "./atomic-writer.js";
import { loadCheckpoint, saveCheckpoint } from "./checkpoint.js";
import { type CheckpointConfig, headDimensionOf, readCheckpointConfig } from "./checkpoint-config.js";
import { type ModelWeights, parameterCount } from "./checkpoint-tensors.js";
import { exportGguf, ggufArchitecture } from "./gguf/gguf-export.js";
import { detectPreTokenizer } from "./gguf/gguf-tokenizer-metadata.js";
import type { GgufTensorType } from "./gguf/gguf-writer.js";
import { createLlamaModel, type LlamaPresetName, llamaPresets } from "./llama/index.js";
import { trainingModelWeights } from "./llama-weights.js";
import type { SafetensorsFloatDtype } from "./safetensors/safetensors-format.js";
import { openSafetensorsCheckpoint } from "./safetensors/safetensors-reader.js";
import { trainByteLevelBpe } from "./tokenizer/byte-level-bpe-trainer.js";
import { createTokenizer, loadTokenizer, saveTokenizer, type Tokenizer } from "./tokenizer/tokenizer.js";

/** Where a new model's shape comes from: a preset name or a Hugging Face config.json path. */
export type ModelShapeSource = LlamaPresetName | (string & {});

/** Where a new model's tokenizer comes from. */
export type TokenizerSource =
  | { kind: "directory"; directory: string }
  | { kind: "train"; files: readonly string[]; vocabularySize: number };

/**
 * A small file `model init` writes beside the weights: `{ "origin": "model init", "seed": n }`, so that
 * `train` knows the weights are untrained (and takes the fresh-start defaults).
 */
export const MODEL_ORIGIN_FILE = "stable-alignment.json";

/** Options of {@link initializeModel}. */
export interface InitializeModelOptions {
  /** `tiny`, `small`, `30m`, or a path to a config.json. */
  shape: ModelShapeSource;
  tokenizer: TokenizerSource;
  /**
   * Output directory, written to a temporary sibling and renamed into place when complete. An
   * existing non-empty one is refused unless `replace` and it holds a config.json (a model).
   */
  directory: string;
  /** Replace an existing `directory` (the CLI's `--force`). Default false. */
  replace?: boolean;
  blas: Blas;
  /** Weight initialisation seed. Default 0. */
  seed?: number;
}

/** What {@link initializeModel} wrote. */
export interface InitializedModel {
  config: CheckpointConfig;
  parameters: number;
  files: string[];
  /** Merges learned when the tokenizer was trained here. */
  mergeCount?: number;
}

/** Vocabulary size of a tokenizer trained for a shape: tiny 512, small 2048, otherwise 8192. */
export function defaultVocabularySize(shape: ModelShapeSource): number {
  const presets: Record<string, number> = { tiny: 512, small: 2048, "30m": 8192 };
  return presets[shape] ?? 8192;
}

/**
 * Creates a model directory: the shape (a preset takes the tokenizer's vocabulary size; a config.json
 * must have at least as many embedding rows as the tokenizer has tokens), Hugging Face-style initial
 * weights (normal(0, 0.02) matrices, unit norms, zero biases) and the tokenizer files.
 */
export async function initializeModel({
  shape,
  tokenizer: tokenizerSource,
  directory,
  replace = false,
  blas,
  seed = 0,
}: InitializeModelOptions): Promise<InitializedModel> {
  return writeDirectoryAtomically({ directory, replace, replaceableIfHolds: "config.json" }, (temporary) =>
    writeNewModel({ shape, tokenizerSource, directory: temporary, blas, seed }),
  );
}

async function writeNewModel({
  shape,
  tokenizerSource,
  directory,
  blas,
  seed,
}: {
  shape: ModelShapeSource;
  tokenizerSource: TokenizerSource;
  directory: string;
  blas: Blas;
  seed: number;
}): Promise<InitializedModel> {
  let tokenizer: Tokenizer;
  let mergeCount: number | undefined;
  if (tokenizerSource.kind === "directory") {
    tokenizer = await loadTokenizer({ directory: tokenizerSource.directory });
  } else {
    const texts: string[] = [];
    for (const file of tokenizerSource.files) {
      texts.push(
        await readFile(file, "utf8").catch((error: unknown) => {
          throw new InputError(`cannot read tokenizer training text: ${(error as Error).message}`, {
            file,
            cause: error,
          });
        }),
      );
    }
    const trained = trainByteLevelBpe({ texts, vocabularySize: tokenizerSource.vocabularySize });
    mergeCount = trained.mergeCount;
    tokenizer = createTokenizer(trained);
  }
  const config = await resolveShape(shape, tokenizer);
  const model = createLlamaModel({ config, blas, seed });
  const weights: ModelWeights = trainingModelWeights(model);
  const files = await saveCheckpoint({ directory, config, weights });
  await saveTokenizer({
    directory,
    tokenizerJson: tokenizer.tokenizerJson,
    tokenizerConfig: tokenizer.tokenizerConfig,
  });
  if (tokenizerSource.kind === "directory") await copyChatTemplate(tokenizerSource.directory, directory);
  await writeFile(join(directory, MODEL_ORIGIN_FILE), `${JSON.stringify({ origin: "model init", seed }, null, 2)}\n`);
  return {
    config,
    parameters: parameterCount(config),
    files: [...files, "tokenizer.json", "tokenizer_config.json", MODEL_ORIGIN_FILE],
    ...(mergeCount === undefined ? {} : { mergeCount }),
  };
}

async function resolveShape(shape: ModelShapeSource, tokenizer: Tokenizer): Promise<CheckpointConfig> {
  const ids = { bosTokenId: tokenizer.bosTokenId, eosTokenIds: [...tokenizer.endTokenIds] };
  if (shape in llamaPresets) {
    const preset = llamaPresets[shape as LlamaPresetName];
    return {
      ...preset,
      family: "llama",
      queryKeyValueBias: false,
      vocabularySize: tokenizer.vocabularySize,
      ...ids,
    };
  }
  if (!shape.endsWith(".json")) {
    throw new ConfigError(
      `--config must be a preset (${Object.keys(llamaPresets).join(", ")}) or a config.json path, got "${shape}"`,
      { field: "config" },
    );
  }
  const config = await readCheckpointConfig({ path: shape });
  if (config.vocabularySize < tokenizer.vocabularySize) {
    throw new ConfigError(
      `${shape}: vocab_size ${config.vocabularySize} is smaller than the tokenizer's ${tokenizer.vocabularySize} tokens`,
      { field: "vocab_size", file: shape },
    );
  }
  return {
    ...config,
    bosTokenId: config.bosTokenId ?? ids.bosTokenId,
    eosTokenIds: config.eosTokenIds.length > 0 ? config.eosTokenIds : ids.eosTokenIds,
  };
}

async function copyChatTemplate(from: string, to: string): Promise<void> {
  const source = join(from, "chat_template.jinja");
  if (await stat(source).catch(() => undefined)) await copyFile(source, join(to, "chat_template.jinja"));
}

/** A model directory at a glance. */
export interface ModelDescription {
  directory: string;
  config: CheckpointConfig;
  parameters: number;
  headDimension: number;
  /** Stored dtypes and how many tensors have each. */
  dtypes: Record<string, number>;
  files: readonly string[];
  storedBytes: number;
  tokenizer:
    | {
        vocabularySize: number;
        bosToken: string | undefined;
        eosToken: string | undefined;
        chatTemplate: boolean;
        /** The llama.cpp pre-tokenizer GGUF export would use, or undefined when export would refuse. */
        ggufPreTokenizer: string | undefined;
      }
    | undefined;
  /** The llama.cpp architecture GGUF export writes. */
  ggufArchitecture: string;
}

/** Reads config.json, the safetensors headers (not the weights) and the tokenizer of `directory`. */
export async function describeModel({ directory }: { directory: string }): Promise<ModelDescription> {
  const config = await readCheckpointConfig({ path: directory });
  const checkpoint = await openSafetensorsCheckpoint({ path: directory });
  const dtypes: Record<string, number> = {};
  let storedBytes = 0;
  for (const tensor of checkpoint.tensors.values()) {
    dtypes[tensor.dtype] = (dtypes[tensor.dtype] ?? 0) + 1;
    storedBytes += tensor.byteLength;
  }
  const tokenizer = await loadTokenizer({ directory }).catch(() => undefined);
  return {
    directory,
    config,
    parameters: parameterCount(config),
    headDimension: headDimensionOf(config),
    dtypes,
    files: checkpoint.files,
    storedBytes,
    tokenizer: tokenizer && {
      vocabularySize: tokenizer.vocabularySize,
      bosToken: tokenizer.specialTokenStrings.bos_token,
      eosToken: tokenizer.specialTokenStrings.eos_token,
      chatTemplate: tokenizer.chatTemplate !== undefined,
      ggufPreTokenizer: detectPreTokenizer(tokenizer.tokenizerJson.pre_tokenizer),
    },
    ggufArchitecture: ggufArchitecture(config),
  };
}

/** Options of {@link exportModel}. */
export type ExportModelOptions = { directory: string; out: string } & (
  | { format: "gguf"; dtype?: GgufTensorType }
  | { format: "safetensors"; dtype?: SafetensorsFloatDtype }
);

/**
 * Exports the model in `directory`: to a GGUF file at `out` (f32 default, or f16), or to a
 * safetensors checkpoint directory at `out` (F32 default, F16 or BF16) with its tokenizer files.
 */
export async function exportModel(options: ExportModelOptions): Promise<{ files: string[] }> {
  const checkpoint = await loadCheckpoint({ directory: options.directory });
  const tokenizer = await loadTokenizer({ directory: options.directory });
  if (options.format === "gguf") {
    const name = options.directory.replace(/\/+$/, "").split("/").at(-1) ?? "model";
    await exportGguf({
      path: options.out,
      config: checkpoint.config,
      weights: checkpoint.weights,
      tokenizer,
      dtype: options.dtype ?? "f32",
      name,
    });
    return { files: [options.out] };
  }
  const files = await saveCheckpoint({
    directory: options.out,
    config: checkpoint.config,
    weights: checkpoint.weights,
    dtype: options.dtype ?? "F32",
  });
  await saveTokenizer({
    directory: options.out,
    tokenizerJson: tokenizer.tokenizerJson,
    tokenizerConfig: tokenizer.tokenizerConfig,
  });
  await copyChatTemplate(options.directory, options.out);
  return { files: [...files, "tokenizer.json", "tokenizer_config.json"].map((file) => join(options.out, file)) };
}
