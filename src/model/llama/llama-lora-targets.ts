/**
 * What LoRA adapters target: the projections, each one's place and shape inside the layer's packed
 * projections, and the adapters' flat layout with PEFT tensor names (see llama-lora.ts for the PEFT
 * commit these follow). Depends only on the configuration, so the layer and the workspace can use it.
 */
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
