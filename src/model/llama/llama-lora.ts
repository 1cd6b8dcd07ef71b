/**
 * LoRA adapters for the training decoder: which projections they target, where each adds into the
 * layer's packed projections, their flat layout (PEFT tensor names) and their initialisation.
 *
 * Names, shapes, scaling and initialisation follow PEFT (huggingface/peft at commit
 * 5d602fdbff04c33c1c4de55cda9d4ae1d7cb7e40: src/peft/tuners/lora/layer.py `update_layer` and
 * `reset_lora_parameters`, src/peft/utils/save_and_load.py): lora_A is a linear [r, in] initialised
 * kaiming-uniform with a = sqrt(5) (uniform in +-1/sqrt(in)), lora_B a linear [out, r] of zeros,
 * scaling = lora_alpha / r, output = base(x) + scaling * lora_B(lora_A(dropout(x))), and saved tensors
 * are named `base_model.model.<module>.lora_A.weight` without the adapter name.
 */
import { createRandom, ShapeError, type Tensor, viewTensor } from "../../engine/index.js";
import type { LlamaConfig } from "./llama-config.js";
import type { ParameterEntry, ParameterLayout } from "./llama-parameters.js";

/** Projections an adapter can target, in layer order. */
export const LORA_TARGETS = ["q", "k", "v", "o", "gate", "up", "down"] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];

/** The Hugging Face module (within a layer) of each target. */
export const LORA_TARGET_MODULES: Readonly<Record<LoraTarget, string>> = {
  q: "self_attn.q_proj",
  k: "self_attn.k_proj",
  v: "self_attn.v_proj",
  o: "self_attn.o_proj",
  gate: "mlp.gate_proj",
  up: "mlp.up_proj",
  down: "mlp.down_proj",
};

/** An adapter's hyperparameters (PEFT's r, lora_alpha, lora_dropout, target_modules). */
export interface LoraSettings {
  /** Rank r of every adapter. */
  rank: number;
  /** lora_alpha: the update is scaled by alpha / rank. */
  alpha: number;
  /** Dropout probability on the adapter's input while training, in [0, 1). */
  dropout: number;
  /** Targeted projections, each at most once. */
  targets: readonly LoraTarget[];
}

/** Which packed output of the layer a projection writes, and the projection's shape. */
export interface LoraTargetShape {
  /** qkv: packed q/k/v; output: o_proj (residual stream); gateUp: packed gate/up; down: down_proj (residual stream). */
  projection: "qkv" | "output" | "gateUp" | "down";
  /** First column of this projection inside the packed output. */
  column: number;
  inFeatures: number;
  outFeatures: number;
}

/** The shape and place of a target's projection in a model of `config`. */
export function loraTargetShape(config: LlamaConfig, target: LoraTarget): LoraTargetShape {
  const d = config.hiddenSize;
  const headDimension = d / config.heads;
  const queryWidth = config.heads * headDimension;
  const keyWidth = config.kvHeads * headDimension;
  const f = config.intermediateSize;
  switch (target) {
    case "q":
      return { projection: "qkv", column: 0, inFeatures: d, outFeatures: queryWidth };
    case "k":
      return { projection: "qkv", column: queryWidth, inFeatures: d, outFeatures: keyWidth };
    case "v":
      return { projection: "qkv", column: queryWidth + keyWidth, inFeatures: d, outFeatures: keyWidth };
    case "o":
      return { projection: "output", column: 0, inFeatures: queryWidth, outFeatures: d };
    case "gate":
      return { projection: "gateUp", column: 0, inFeatures: d, outFeatures: f };
    case "up":
      return { projection: "gateUp", column: f, inFeatures: d, outFeatures: f };
    case "down":
      return { projection: "down", column: 0, inFeatures: f, outFeatures: d };
  }
}

/** The targets of `settings` in layer order (the order adapters are laid out and applied). */
export function orderedTargets(settings: Pick<LoraSettings, "targets">): LoraTarget[] {
  return LORA_TARGETS.filter((target) => settings.targets.includes(target));
}

/** The Hugging Face name of a targeted module, e.g. `model.layers.0.self_attn.q_proj`. */
export function loraModuleName(layer: number, target: LoraTarget): string {
  return `model.layers.${layer}.${LORA_TARGET_MODULES[target]}`;
}

/** PEFT's saved tensor name: `base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight`. */
export function peftTensorName(layer: number, target: LoraTarget, matrix: "A" | "B"): string {
  return `base_model.model.${loraModuleName(layer, target)}.lora_${matrix}.weight`;
}

/**
 * The adapters' flat layout: per layer, per target in layer order, lora_A [rank, in] then lora_B
 * [out, rank], named as PEFT saves them. Every entry is a matrix (weight decay applies, as in PEFT).
 */
export function loraParameterLayout(config: LlamaConfig, settings: LoraSettings): ParameterLayout {
  const entries: ParameterEntry[] = [];
  let offset = 0;
  for (let layer = 0; layer < config.layers; layer++) {
    for (const target of orderedTargets(settings)) {
      const { inFeatures, outFeatures } = loraTargetShape(config, target);
      for (const [matrix, shape] of [
        ["A", [settings.rank, inFeatures]],
        ["B", [outFeatures, settings.rank]],
      ] as const) {
        const size = shape[0] * shape[1];
        entries.push({ name: peftTensorName(layer, target, matrix), shape, offset, size, kind: "matrix" });
        offset += size;
      }
    }
  }
  return { entries, totalSize: offset };
}

/**
 * Initialises adapters as PEFT does by default: lora_A uniform in [-1/sqrt(in), 1/sqrt(in)) (kaiming
 * uniform with a = sqrt(5)) from `seed`, lora_B zeros, so a fresh adapter leaves the model unchanged.
 */
export function initializeLoraParameters(options: {
  parameters: Float32Array;
  layout: readonly ParameterEntry[];
  seed: number;
}): void {
  const { parameters, layout, seed } = options;
  const random = createRandom({ seed });
  for (const entry of layout) {
    const values = parameters.subarray(entry.offset, entry.offset + entry.size);
    if (entry.name.endsWith(".lora_B.weight")) {
      values.fill(0);
      continue;
    }
    const bound = 1 / Math.sqrt(entry.shape[1] ?? 1);
    for (let index = 0; index < values.length; index++) values[index] = (random.nextFloat() * 2 - 1) * bound;
  }
}

/** Every layer's adapters as views into the flat adapter parameter and gradient arrays (laid out by `layout`). */
export function createLayerAdapters(options: {
  config: LlamaConfig;
  settings: LoraSettings;
  layout: readonly ParameterEntry[];
  parameters: Float32Array;
  gradients: Float32Array;
}): LayerAdapter[][] {
  const { config, settings, layout, parameters, gradients } = options;
  const byName = new Map(layout.map((entry) => [entry.name, entry]));
  const view = (data: Float32Array, name: string) => {
    const entry = byName.get(name);
    if (entry === undefined) throw new ShapeError(`no adapter parameter ${name}`);
    return viewTensor({ data, offset: entry.offset, shape: entry.shape });
  };
  return Array.from({ length: config.layers }, (_, layer) =>
    orderedTargets(settings).map((target) => ({
      ...loraTargetShape(config, target),
      down: view(parameters, peftTensorName(layer, target, "A")),
      up: view(parameters, peftTensorName(layer, target, "B")),
      downGradient: view(gradients, peftTensorName(layer, target, "A")),
      upGradient: view(gradients, peftTensorName(layer, target, "B")),
    })),
  );
}

/** Fills every adapter's inverted-dropout scales (0 with `probability`, else 1 / (1 - probability)) from `seed`. */
export function fillDropoutScales(options: {
  /** Each layer's saved adapter activations (the workspace's layers). */
  layers: readonly { readonly adapters: readonly { readonly dropout?: { readonly scale: Float32Array } }[] }[];
  probability: number;
  seed: number;
}): void {
  const { layers, probability, seed } = options;
  const random = createRandom({ seed });
  const kept = 1 / (1 - probability);
  for (const layer of layers) {
    for (const adapter of layer.adapters) {
      const scale = adapter.dropout?.scale ?? new Float32Array(0);
      for (let index = 0; index < scale.length; index++) scale[index] = random.nextFloat() < probability ? 0 : kept;
    }
  }
}

/** One LoRA adapter of a layer: where it adds, its weights and their gradients (views into flat arrays). */
export interface LayerAdapter extends LoraTargetShape {
  /** lora_A [rank, in]. */
  down: Tensor;
  /** lora_B [out, rank]. */
  up: Tensor;
  downGradient: Tensor;
  upGradient: Tensor;
}
