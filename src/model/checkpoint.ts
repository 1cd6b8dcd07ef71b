/**
 * A checkpoint directory in the Hugging Face layout: `config.json`, `model.safetensors` (or shards
 * with an index), and optionally `tokenizer.json`, `tokenizer_config.json` and
 * `generation_config.json`. Checkpoints published for Llama, SmolLM, Mistral and Qwen2 load as they
 * are; what this toolkit saves loads in Hugging Face transformers and in llama.cpp's converter.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { InputError } from "../spec/errors.js";
import { type CheckpointConfig, checkpointConfigToJson, readCheckpointConfig } from "./checkpoint-config.js";
import {
  checkpointTensorSpecs,
  isDerivedTensor,
  type ModelWeights,
  tiedHeadMessage,
  tiedHeadMismatch,
} from "./checkpoint-tensors.js";
import type { SafetensorsFloatDtype } from "./safetensors/safetensors-format.js";
import { openSafetensorsCheckpoint } from "./safetensors/safetensors-reader.js";
import { DEFAULT_MAXIMUM_SHARD_BYTES, writeSafetensorsCheckpoint } from "./safetensors/safetensors-writer.js";

/** A loaded checkpoint: its config and every weight as float32. */
export interface Checkpoint {
  directory: string;
  config: CheckpointConfig;
  weights: ModelWeights;
  /** The dtype the weights were stored in (the first tensor's; mixed files report `mixed`). */
  storedDtype: string;
}

/**
 * Loads `config.json` and the safetensors weights of `directory`, converting F16 and BF16 to
 * float32. Every tensor the config requires must be present with its exact shape; a tensor the
 * model would not use is refused (it means an architecture feature this decoder lacks), except
 * derived tensors (DERIVED_TENSOR_SUFFIXES) and a stored `lm_head.weight` of a tied model, which must
 * equal the embeddings value for value (refused otherwise). An architecture the decoder does not
 * implement is refused by the config parser, naming the field.
 */
export async function loadCheckpoint({ directory }: { directory: string }): Promise<Checkpoint> {
  const config = await readCheckpointConfig({ path: directory });
  const file = await openSafetensorsCheckpoint({ path: directory });
  const specs = checkpointTensorSpecs(config);
  const required = new Set(specs.map((spec) => spec.name));
  const unexpected = [...file.tensors.keys()].filter(
    (name) => !required.has(name) && !isDerivedTensor(name) && !(config.tieWordEmbeddings && name === "lm_head.weight"),
  );
  if (unexpected.length > 0) {
    throw new InputError(
      `checkpoint has tensors a ${config.family} model with this config does not use: ${unexpected.slice(0, 5).join(", ")}${unexpected.length > 5 ? ` and ${unexpected.length - 5} more` : ""}`,
      { file: directory },
    );
  }
  const weights: ModelWeights = new Map();
  const dtypes = new Set<string>();
  for (const spec of specs) {
    const info = file.tensors.get(spec.name);
    if (!info)
      throw new InputError(`checkpoint lacks tensor ${spec.name} required by config.json`, { file: directory });
    if (info.shape.join(",") !== spec.shape.join(",")) {
      throw new InputError(
        `tensor ${spec.name} has shape [${info.shape.join(", ")}] but config.json implies [${spec.shape.join(", ")}]`,
        { file: info.file },
      );
    }
    dtypes.add(info.dtype);
    weights.set(spec.name, await file.readFloat32(spec.name));
  }
  if (config.tieWordEmbeddings && file.tensors.has("lm_head.weight")) {
    const mismatch = tiedHeadMismatch({
      head: await file.readFloat32("lm_head.weight"),
      embedding: weights.get("model.embed_tokens.weight") as Float32Array,
    });
    if (mismatch !== undefined) throw new InputError(tiedHeadMessage(mismatch), { file: directory });
  }
  const storedDtype = dtypes.size === 1 ? ([...dtypes][0] as string) : "mixed";
  return { directory, config, weights, storedDtype };
}

/**
 * Saves `config.json`, `generation_config.json` and the weights (in canonical tensor order, as
 * `dtype`, default F32; sharded above `maximumShardBytes`, default 5 GB) into `directory`.
 * Tokenizer files are the caller's to copy or write. Returns the file names written.
 */
export async function saveCheckpoint({
  directory,
  config,
  weights,
  dtype = "F32",
  maximumShardBytes = DEFAULT_MAXIMUM_SHARD_BYTES,
}: {
  directory: string;
  config: CheckpointConfig;
  weights: ModelWeights;
  dtype?: SafetensorsFloatDtype;
  maximumShardBytes?: number;
}): Promise<string[]> {
  const tensors = checkpointTensorSpecs(config).map((spec) => {
    const data = weights.get(spec.name);
    const elements = spec.shape.reduce((product, dimension) => product * dimension, 1);
    if (!data) throw new RangeError(`weights lack ${spec.name}`);
    if (data.length !== elements) {
      throw new RangeError(
        `weight ${spec.name} has ${data.length} values, shape [${spec.shape.join(", ")}] needs ${elements}`,
      );
    }
    return { name: spec.name, shape: spec.shape, data };
  });
  await mkdir(directory, { recursive: true });
  const json = checkpointConfigToJson(config);
  json.torch_dtype = dtype === "F32" ? "float32" : dtype === "F16" ? "float16" : "bfloat16";
  await writeFile(join(directory, "config.json"), `${JSON.stringify(json, null, 2)}\n`);
  const generation: Record<string, unknown> = { _from_model_config: true };
  if (config.bosTokenId !== undefined) generation.bos_token_id = config.bosTokenId;
  if (config.eosTokenIds.length > 0) {
    generation.eos_token_id = config.eosTokenIds.length === 1 ? config.eosTokenIds[0] : config.eosTokenIds;
  }
  await writeFile(join(directory, "generation_config.json"), `${JSON.stringify(generation, null, 2)}\n`);
  const files = await writeSafetensorsCheckpoint({ directory, tensors, dtype, maximumShardBytes });
  return ["config.json", "generation_config.json", ...files];
}
