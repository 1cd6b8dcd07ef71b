/**
 * LoRA adapters on disk in PEFT's layout: `adapter_config.json` (a LoraConfig's fields) and
 * `adapter_model.safetensors` (tensors named `base_model.model.<module>.lora_A.weight` /
 * `lora_B.weight`), as PEFT's `save_pretrained` writes them (huggingface/peft at commit
 * 5d602fdbff04c33c1c4de55cda9d4ae1d7cb7e40: src/peft/tuners/lora/config.py, src/peft/config.py,
 * src/peft/utils/save_and_load.py, src/peft/utils/constants.py). Reading refuses, in one line, what this
 * toolkit does not implement (DoRA, rsLoRA, fan_in_fan_out, trained biases, unknown tensors) instead
 * of silently running a different model. Merging folds W' = W + (alpha / r) B A into base weights.
 */
import { readFile, writeFile } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import { InputError } from "../spec/errors.js";
import type { ModelWeights } from "./checkpoint-tensors.js";
import {
  type LlamaModel,
  LORA_TARGET_MODULES,
  LORA_TARGETS,
  type LoraSettings,
  type LoraTarget,
} from "./llama/index.js";
import { openSafetensorsCheckpoint } from "./safetensors/safetensors-reader.js";
import { writeSafetensorsFile } from "./safetensors/safetensors-writer.js";

/** PEFT's config file name (`CONFIG_NAME`). */
export const ADAPTER_CONFIG_FILE_NAME = "adapter_config.json";
/** PEFT's weights file name (`SAFETENSORS_WEIGHTS_NAME`). */
export const ADAPTER_WEIGHTS_FILE_NAME = "adapter_model.safetensors";

/** An adapter read from disk. */
export interface LoraAdapter {
  settings: LoraSettings;
  /** `base_model_name_or_path` resolved against the adapter directory when it is a relative path. */
  baseModel: string;
  /** lora_A / lora_B tensors by PEFT name, float32. */
  tensors: ModelWeights;
  /** Shapes by PEFT name. */
  shapes: Map<string, readonly number[]>;
}

const PEFT_NAME =
  /^base_model\.model\.model\.layers\.(\d+)\.(self_attn\.[qkvo]_proj|mlp\.(?:gate|up|down)_proj)\.lora_([AB])\.weight$/;

/** The adapter_config.json PEFT would write for these settings. */
export function peftAdapterConfig(options: { settings: LoraSettings; baseModel: string }): Record<string, unknown> {
  const { settings, baseModel } = options;
  return {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: baseModel,
    bias: "none",
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layers_pattern: null,
    layers_to_transform: null,
    lora_alpha: settings.alpha,
    lora_dropout: settings.dropout,
    modules_to_save: null,
    peft_type: "LORA",
    r: settings.rank,
    rank_pattern: {},
    revision: null,
    target_modules: LORA_TARGETS.filter((target) => settings.targets.includes(target)).map(
      (target) => LORA_TARGET_MODULES[target].split(".")[1] as string,
    ),
    task_type: "CAUSAL_LM",
    use_dora: false,
    use_rslora: false,
  };
}

/**
 * Writes the model's adapters into `directory` (which must exist) in PEFT's layout, float32.
 * `baseModel` is written as base_model_name_or_path.
 */
export async function writeLoraAdapter(options: {
  directory: string;
  model: LlamaModel;
  baseModel: string;
}): Promise<void> {
  const { directory, model, baseModel } = options;
  if (model.lora === undefined) throw new InputError("the model has no LoRA adapters to write", { file: directory });
  const config = peftAdapterConfig({ settings: model.lora.settings, baseModel });
  await writeSafetensorsFile({
    path: join(directory, ADAPTER_WEIGHTS_FILE_NAME),
    tensors: model.trainable.layout.map((entry) => ({
      name: entry.name,
      shape: entry.shape,
      data: model.parameter(entry.name).data,
    })),
  });
  await writeFile(join(directory, ADAPTER_CONFIG_FILE_NAME), `${JSON.stringify(config, null, 2)}\n`);
}

/** Reads a PEFT LoRA adapter directory; throws InputError naming the file and field on anything unsupported. */
export async function readLoraAdapter({ directory }: { directory: string }): Promise<LoraAdapter> {
  const configPath = join(directory, ADAPTER_CONFIG_FILE_NAME);
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(await readFile(configPath, "utf8")) as Record<string, unknown>;
  } catch (error) {
    throw new InputError(`cannot read the adapter config: ${(error as Error).message}`, {
      file: configPath,
      cause: error,
    });
  }
  const fail = (field: string, rule: string): never => {
    throw new InputError(`${field} ${rule}, got ${JSON.stringify(json[field])}`, { file: configPath });
  };
  if (json.peft_type !== "LORA") fail("peft_type", 'must be "LORA"');
  const rank = json.r;
  if (typeof rank !== "number" || !Number.isInteger(rank) || rank < 1) fail("r", "must be a positive integer");
  const alpha = json.lora_alpha;
  if (typeof alpha !== "number" || !(alpha > 0)) fail("lora_alpha", "must be a positive number");
  const dropout = json.lora_dropout ?? 0;
  if (typeof dropout !== "number" || dropout < 0 || dropout >= 1) fail("lora_dropout", "must be in [0, 1)");
  for (const field of ["fan_in_fan_out", "use_dora", "use_rslora"]) {
    if (json[field] !== undefined && json[field] !== false) fail(field, "must be false (not implemented here)");
  }
  if (json.bias !== undefined && json.bias !== "none") fail("bias", 'must be "none" (not implemented here)');
  for (const field of ["rank_pattern", "alpha_pattern"]) {
    const value = json[field];
    if (value !== undefined && value !== null && Object.keys(value as object).length > 0) {
      fail(field, "must be empty (per-module ranks are not implemented here)");
    }
  }
  if (json.modules_to_save !== undefined && json.modules_to_save !== null) fail("modules_to_save", "must be null");
  const modules = Array.isArray(json.target_modules) ? json.target_modules : [json.target_modules];
  const byModule = new Map(LORA_TARGETS.map((target) => [LORA_TARGET_MODULES[target].split(".")[1], target]));
  const targets: LoraTarget[] = [];
  for (const module of modules) {
    const target = byModule.get(String(module));
    if (target === undefined) fail("target_modules", `must list only ${[...byModule.keys()].join(", ")}`);
    targets.push(target as LoraTarget);
  }
  const base = json.base_model_name_or_path;
  if (typeof base !== "string" || base === "") fail("base_model_name_or_path", "must name the base model");
  const baseModel = isAbsolute(base as string) ? (base as string) : resolve(directory, base as string);
  const weightsPath = join(directory, ADAPTER_WEIGHTS_FILE_NAME);
  const file = await openSafetensorsCheckpoint({ path: weightsPath });
  const tensors: ModelWeights = new Map();
  const shapes = new Map<string, readonly number[]>();
  for (const [name, info] of file.tensors) {
    const match = PEFT_NAME.exec(name);
    const target = match === null ? undefined : byModule.get((match[2] as string).split(".")[1]);
    if (target === undefined || !targets.includes(target)) {
      throw new InputError(`adapter tensor ${name} is not a lora_A/lora_B of a listed target module`, {
        file: weightsPath,
      });
    }
    const expectedRank = match?.[3] === "A" ? info.shape[0] : info.shape[1];
    if (info.shape.length !== 2 || expectedRank !== rank) {
      throw new InputError(`adapter tensor ${name} has shape [${info.shape.join(", ")}], not rank ${rank}`, {
        file: weightsPath,
      });
    }
    shapes.set(name, info.shape);
    tensors.set(name, await file.readFloat32(name));
  }
  return {
    settings: { rank: rank as number, alpha: alpha as number, dropout: dropout as number, targets },
    baseModel,
    tensors,
    shapes,
  };
}

/** Copies an adapter's tensors into a model built with the same LoRA settings; refuses a missing or misfit tensor. */
export function copyAdapterIntoModel(options: { model: LlamaModel; adapter: LoraAdapter; source?: string }): void {
  const { model, adapter, source } = options;
  const details = source === undefined ? {} : { file: source };
  const placed = new Set(model.trainable.layout.map((entry) => entry.name));
  for (const name of adapter.tensors.keys()) {
    if (!placed.has(name)) throw new InputError(`adapter tensor ${name} has no place in the model's adapters`, details);
  }
  for (const entry of model.trainable.layout) {
    const values = adapter.tensors.get(entry.name);
    if (values === undefined) throw new InputError(`adapter lacks ${entry.name}`, details);
    if (values.length !== entry.size) {
      throw new InputError(`adapter tensor ${entry.name} has ${values.length} values, expected ${entry.size}`, details);
    }
    model.parameter(entry.name).data.set(values);
  }
}

/**
 * Base weights with the adapter folded in: W + (alpha / r) B A for every adapted module (new arrays;
 * `weights` is not changed; other tensors are shared). Refuses an adapter whose shapes do not fit.
 */
export function mergeLoraWeights(options: {
  weights: ModelWeights;
  adapter: LoraAdapter;
  source?: string;
}): ModelWeights {
  const { weights, adapter, source } = options;
  const details = source === undefined ? {} : { file: source };
  const scaling = adapter.settings.alpha / adapter.settings.rank;
  const rank = adapter.settings.rank;
  const merged: ModelWeights = new Map(weights);
  for (const [name, down] of adapter.tensors) {
    if (!name.endsWith(".lora_A.weight")) continue;
    const module = name.slice("base_model.model.".length, -".lora_A.weight".length);
    const up = adapter.tensors.get(name.replace(".lora_A.weight", ".lora_B.weight"));
    const base = weights.get(`${module}.weight`);
    if (up === undefined) throw new InputError(`adapter has ${name} without its lora_B`, details);
    if (base === undefined) throw new InputError(`the base model has no ${module}.weight for adapter ${name}`, details);
    const inFeatures = down.length / rank;
    const outFeatures = up.length / rank;
    if (outFeatures * inFeatures !== base.length) {
      throw new InputError(
        `adapter ${module} is [${outFeatures}, ${inFeatures}], the base weight has ${base.length} values`,
        details,
      );
    }
    const result = Float32Array.from(base);
    for (let row = 0; row < outFeatures; row++) {
      for (let k = 0; k < rank; k++) {
        const factor = scaling * (up[row * rank + k] as number);
        if (factor === 0) continue;
        const start = row * inFeatures;
        const downRow = k * inFeatures;
        for (let column = 0; column < inFeatures; column++) {
          result[start + column] = (result[start + column] as number) + factor * (down[downRow + column] as number);
        }
      }
    }
    merged.set(`${module}.weight`, result);
  }
  return merged;
}

/** The model's current adapters as a LoraAdapter (views into the model, no copy). */
export function loraAdapterOfModel(options: { model: LlamaModel; baseModel: string }): LoraAdapter {
  const { model, baseModel } = options;
  if (model.lora === undefined) throw new InputError("the model has no LoRA adapters");
  const tensors: ModelWeights = new Map();
  const shapes = new Map<string, readonly number[]>();
  for (const entry of model.trainable.layout) {
    tensors.set(entry.name, model.parameter(entry.name).data);
    shapes.set(entry.name, entry.shape);
  }
  return { settings: model.lora.settings, baseModel, tensors, shapes };
}
