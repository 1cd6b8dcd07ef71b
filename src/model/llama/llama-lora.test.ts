import { describe, expect, it } from "vitest";
import { createAdamW } from "../../engine/index.js";
import { testBackends } from "../../engine/testing/backends.js";
import { decodeFloat32, hashUniform, readFixture, scaledMaxError } from "../../engine/testing/fixtures.js";
import { finiteDifferenceError } from "../../engine/testing/gradient-check.js";
import { type LlamaConfig, llamaPresets } from "./llama-config.js";
import { LORA_TARGETS, type LoraSettings, loraParameterLayout } from "./llama-lora.js";
import { createLlamaModel, type LlamaModel } from "./llama-model.js";

interface LoraFixture {
  batchSize: number;
  sequenceLength: number;
  rank: number;
  alpha: number;
  tokens: number[];
  targets: number[];
  tokenCounts: number[];
  sequenceLosses: number[];
  sequenceLossGradients: number[];
  adapterNames: string[];
  gradients: Record<string, string>;
}

const fixture = readFixture<LoraFixture>("src/model/llama", "tiny-qwen2-lora");
const config: LlamaConfig = { ...llamaPresets.tiny, tieWordEmbeddings: false, queryKeyValueBias: true };
const settings: LoraSettings = { rank: fixture.rank, alpha: fixture.alpha, dropout: 0, targets: [...LORA_TARGETS] };
const batch = {
  tokens: Int32Array.from(fixture.tokens),
  targets: Int32Array.from(fixture.targets),
  batchSize: fixture.batchSize,
  sequenceLength: fixture.sequenceLength,
};

/** Base weights as the fixture script derives them (0.1 u, norms 1 + 0.1 u), adapters 0.1 u from seed 5000 + index. */
function loadFixtureWeights(model: LlamaModel): void {
  model.layout.forEach((entry, index) => {
    const values = hashUniform(entry.size, index);
    const target = model.parameter(entry.name).data;
    for (let element = 0; element < entry.size; element++) {
      target[element] = (values[element] as number) * 0.1 + (entry.kind === "norm" ? 1 : 0);
    }
  });
  model.trainable.layout.forEach((entry, index) => {
    const values = hashUniform(entry.size, 5000 + index);
    model.parameter(entry.name).data.set(Array.from(values, (value) => value * 0.1));
  });
}

describe.each(testBackends())("LoRA on the tiny Qwen2 model on $name", ({ blas, memory }) => {
  it("lays adapters out under PEFT's names, in the fixture's order", () => {
    const layout = loraParameterLayout(config, settings);
    expect(layout.entries.map((entry) => entry.name)).toEqual(fixture.adapterNames);
    expect(layout.entries[0]).toMatchObject({
      name: "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight",
      shape: [fixture.rank, config.hiddenSize],
    });
    expect(layout.entries[1]?.shape).toEqual([config.hiddenSize, fixture.rank]);
  });

  it("matches PyTorch: losses within 1e-6, every adapter gradient within 1e-5, and no base gradient", () => {
    const model = createLlamaModel({ config, blas, memory, lora: settings });
    loadFixtureWeights(model);
    const { losses, tokenCounts } = model.sequenceLosses(batch);
    expect(Array.from(tokenCounts)).toEqual(fixture.tokenCounts);
    expect(scaledMaxError(losses, fixture.sequenceLosses)).toBeLessThan(1e-6);
    model.backwardSequenceLosses({ lossGradients: fixture.sequenceLossGradients });
    for (const name of fixture.adapterNames) {
      const expected = decodeFloat32(fixture.gradients[name] ?? "");
      expect(scaledMaxError(model.gradient(name).data, expected), name).toBeLessThan(1e-5);
    }
    // Gradients (and so optimizer state) exist for the adapters only.
    expect(model.gradients.length).toBe(loraParameterLayout(config, settings).totalSize);
    expect(model.gradients.length).toBeLessThan(model.parameters.length / 10);
    expect(() => model.gradient("model.layers.0.self_attn.q_proj.weight")).toThrow(/frozen/);
  });

  it("starts as the base model (lora_B zeros) with lora_A kaiming-uniform from the seed", () => {
    const base = createLlamaModel({ config, blas, memory });
    const adapted = createLlamaModel({ config, blas, memory, lora: settings, seed: 3 });
    loadFixtureWeights(base);
    adapted.parameters.set(base.parameters);
    const expected = Float64Array.from(base.sequenceLosses(batch).losses);
    expect(scaledMaxError(adapted.sequenceLosses(batch).losses, expected)).toBeLessThan(1e-7);
    const a = adapted.parameter("base_model.model.model.layers.1.mlp.down_proj.lora_A.weight").data;
    const bound = 1 / Math.sqrt(config.intermediateSize);
    expect(Math.max(...Array.from(a, Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...Array.from(a, Math.abs))).toBeGreaterThan(bound * 0.9);
    expect(
      adapted.parameter("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight").data.every((v) => v === 0),
    ).toBe(true);
    const again = createLlamaModel({ config, blas, memory, lora: settings, seed: 3 });
    expect(again.trainable.parameters).toEqual(adapted.trainable.parameters);
  });

  it.each([
    { dropout: 0, name: "without dropout" },
    { dropout: 0.3, name: "with dropout (fixed masks from the batch's seed)" },
  ])("has adapter gradients equal to finite differences $name", ({ dropout }) => {
    const model = createLlamaModel({
      config,
      blas,
      memory,
      lora: { rank: 2, alpha: 4, dropout, targets: ["k", "o", "up", "down"] },
    });
    loadFixtureWeights(model);
    const seeded = { ...batch, dropoutSeed: 7 };
    const lossGradients = [0.6, 0.4];
    const loss = () => {
      const { losses } = model.sequenceLosses(seeded);
      return (losses[0] as number) * 0.6 + (losses[1] as number) * 0.4;
    };
    loss();
    model.zeroGradients();
    model.backwardSequenceLosses({ lossGradients });
    for (const entry of model.trainable.layout) {
      const values = model.parameter(entry.name).data;
      const analytic = Float32Array.from(model.gradient(entry.name).data);
      expect(finiteDifferenceError({ values, analytic, loss, samples: 6 }), entry.name).toBeLessThan(2e-2);
    }
  });

  it("trains the adapters with AdamW while the base weights stay exactly as loaded", () => {
    const model = createLlamaModel({ config, blas, memory, lora: settings });
    loadFixtureWeights(model);
    const base = Float32Array.from(model.parameters);
    const optimizer = createAdamW({
      parameters: model.trainable.parameters,
      gradients: model.trainable.gradients,
      learningRate: 1e-2,
    });
    expect(optimizer.firstMoment.length).toBe(model.trainable.parameters.length);
    const before = model.sequenceLosses(batch).losses[0] as number;
    for (let step = 0; step < 3; step++) {
      model.zeroGradients();
      model.sequenceLosses(batch);
      model.backwardSequenceLosses({ lossGradients: [1, 1] });
      optimizer.step();
    }
    expect(model.sequenceLosses(batch).losses[0]).toBeLessThan(before);
    expect(model.parameters).toEqual(base);
  });
});
