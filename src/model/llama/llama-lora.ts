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
import { createRandom, ShapeError, viewTensor } from "../../engine/index.js";
import type { LlamaConfig } from "./llama-config.js";
import type { LayerAdapter } from "./llama-layer.js";
import { type LoraSettings, loraTargetShape, orderedTargets, peftTensorName } from "./llama-lora-targets.js";
import type { ParameterEntry } from "./llama-parameters.js";
import type { LayerActivations } from "./llama-workspace.js";

export * from "./llama-lora-targets.js";

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
  layers: readonly LayerActivations[];
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
