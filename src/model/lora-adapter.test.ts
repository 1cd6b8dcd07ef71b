import { readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBlas } from "../engine/index.js";
import { InputError } from "../spec/errors.js";
import { llamaPresets } from "./llama/llama-config.js";
import { createLlamaModel, type LlamaModel } from "./llama/llama-model.js";
import { trainingModelWeights } from "./llama-weights.js";
import {
  copyAdapterIntoModel,
  loraAdapterOfModel,
  mergeLoraWeights,
  readLoraAdapter,
  writeLoraAdapter,
} from "./lora-adapter.js";
import { writeSafetensorsFile } from "./safetensors/safetensors-writer.js";

const blas = createBlas({ backend: "typescript" });
const lora = { rank: 2, alpha: 6, dropout: 0.05, targets: ["q", "v", "down"] as const };
let directory: string;
let model: LlamaModel;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "lora-adapter-"));
  model = createLlamaModel({ config: llamaPresets.tiny, blas, lora: { ...lora, targets: [...lora.targets] }, seed: 5 });
  // Nonzero lora_B so the round trip and the merge are not trivially zero.
  model.trainable.parameters.forEach((_, index, values) => {
    values[index] = Math.sin(index) * 0.1;
  });
  await writeLoraAdapter({ directory, model, baseModel: "../base" });
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe("PEFT LoRA adapters on disk", () => {
  it("load back as the same weights and settings, with the base resolved against the adapter directory", async () => {
    const adapter = await readLoraAdapter({ directory });
    expect(adapter.settings).toEqual({ ...lora, targets: [...lora.targets] });
    expect(adapter.baseModel).toBe(join(directory, "..", "base"));
    expect([...adapter.tensors.keys()]).toEqual(model.trainable.layout.map((entry) => entry.name));
    for (const entry of model.trainable.layout) {
      expect(adapter.tensors.get(entry.name), entry.name).toEqual(model.parameter(entry.name).data);
      expect(adapter.shapes.get(entry.name)).toEqual(entry.shape);
    }
    const copy = createLlamaModel({ config: llamaPresets.tiny, blas, lora: adapter.settings });
    copyAdapterIntoModel({ model: copy, adapter });
    expect(copy.trainable.parameters).toEqual(model.trainable.parameters);
  });

  it("merges W + (alpha / r) B A into exactly the targeted weights", () => {
    const base = trainingModelWeights(model);
    const merged = mergeLoraWeights({ weights: base, adapter: loraAdapterOfModel({ model, baseModel: "b" }) });
    const name = "model.layers.1.self_attn.v_proj.weight";
    const a = model.parameter("base_model.model.model.layers.1.self_attn.v_proj.lora_A.weight").data;
    const b = model.parameter("base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight").data;
    const inFeatures = llamaPresets.tiny.hiddenSize;
    const row = 3;
    const column = 5;
    const expected =
      (base.get(name)?.[row * inFeatures + column] as number) +
      3 *
        ((b[row * 2] as number) * (a[column] as number) +
          (b[row * 2 + 1] as number) * (a[inFeatures + column] as number));
    expect(merged.get(name)?.[row * inFeatures + column]).toBeCloseTo(expected, 6);
    expect(merged.get("model.layers.1.self_attn.k_proj.weight")).toBe(
      base.get("model.layers.1.self_attn.k_proj.weight"),
    );
  });

  it.each([
    { field: "use_dora", value: true, message: /adapter_config\.json.*use_dora must be false/ },
    { field: "peft_type", value: "IA3", message: /peft_type must be "LORA"/ },
    { field: "target_modules", value: ["q_proj", "lm_head"], message: /target_modules must list only/ },
    { field: "r", value: 0, message: /r must be a positive integer/ },
  ])("refuses $field = $value in one line naming the file", async ({ field, value, message }) => {
    const path = join(directory, "adapter_config.json");
    const original = readFileSync(path, "utf8");
    writeFileSync(path, JSON.stringify({ ...JSON.parse(original), [field]: value }));
    try {
      const error = await readLoraAdapter({ directory }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(InputError);
      expect(`${(error as InputError).message} ${JSON.stringify(error)}`).toMatch(message);
      expect((error as Error).message).not.toContain("\n");
    } finally {
      writeFileSync(path, original);
    }
  });

  it("refuses a tensor that is not a lora_A/lora_B of a listed module", async () => {
    const other = await mkdtemp(join(tmpdir(), "lora-adapter-bad-"));
    try {
      writeFileSync(join(other, "adapter_config.json"), readFileSync(join(directory, "adapter_config.json")));
      await writeSafetensorsFile({
        path: join(other, "adapter_model.safetensors"),
        tensors: [
          {
            name: "base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight",
            shape: [2, 64],
            data: new Float32Array(128),
          },
        ],
      });
      await expect(readLoraAdapter({ directory: other })).rejects.toThrow(
        /k_proj\.lora_A\.weight is not a lora_A\/lora_B of a listed/,
      );
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });
});
