import { describe, expect, it } from "vitest";
import {
  clipGradientNorm,
  createAdamW,
  createTensor,
  maskedCrossEntropyBackward,
  maskedCrossEntropyForward,
} from "../../engine/index.js";
import { testBackends } from "../../engine/testing/backends.js";
import { decodeFloat32, hashUniform, readFixture, scaledMaxError } from "../../engine/testing/fixtures.js";
import { type LlamaConfig, llamaPresets } from "./llama-config.js";
import { createLlamaModel, type LlamaModel } from "./llama-model.js";
import { llamaParameterLayout, noDecaySpans, type ParameterEntry } from "./llama-parameters.js";

interface ModelFixture {
  config: Omit<LlamaConfig, "maxPositions">;
  batchSize: number;
  sequenceLength: number;
  tokens: number[];
  targets: number[];
  tokenCounts: number[];
  sequenceLosses: number[];
  sequenceLossGradients: number[];
  parameterNames: string[];
  gradients: Record<string, string>;
  step: {
    maxGradientNorm: number;
    learningRate: number;
    weightDecay: number;
    gradientNorm: number;
    sequenceLossesAfter: number[];
  };
}

const fixture = readFixture<ModelFixture>("src/model/llama", "tiny-llama");
const qwen2Fixture = readFixture<ModelFixture>("src/model/llama", "tiny-qwen2");
const qwen2Config: LlamaConfig = { ...llamaPresets.tiny, tieWordEmbeddings: false, queryKeyValueBias: true };

/** Weights as the fixture script derives them: 0.1 u for matrices and biases, 1 + 0.1 u for norms. */
function loadHashedWeights(model: LlamaModel): void {
  model.layout.forEach((entry, index) => {
    const values = hashUniform(entry.size, index);
    const target = model.parameter(entry.name).data;
    for (let element = 0; element < entry.size; element++) {
      target[element] = (values[element] as number) * 0.1 + (entry.kind === "norm" ? 1 : 0);
    }
  });
}

describe.each(testBackends())("tiny llama on $name", ({ blas, memory }) => {
  const batch = {
    tokens: Int32Array.from(fixture.tokens),
    targets: Int32Array.from(fixture.targets),
    batchSize: fixture.batchSize,
    sequenceLength: fixture.sequenceLength,
  };

  it("uses the tiny preset and the fixture's parameter order", () => {
    expect({ ...fixture.config, maxPositions: llamaPresets.tiny.maxPositions }).toEqual(llamaPresets.tiny);
    expect(llamaParameterLayout(llamaPresets.tiny).entries.map((entry) => entry.name)).toEqual(fixture.parameterNames);
  });

  it("matches PyTorch: per-sequence losses within 1e-6 and every parameter gradient within 1e-5 of its scale", () => {
    const model = createLlamaModel({ config: llamaPresets.tiny, blas, memory });
    loadHashedWeights(model);
    const { losses, tokenCounts } = model.sequenceLosses(batch);
    expect(Array.from(tokenCounts)).toEqual(fixture.tokenCounts);
    expect(scaledMaxError(losses, fixture.sequenceLosses)).toBeLessThan(1e-6);
    model.backwardSequenceLosses({ lossGradients: fixture.sequenceLossGradients });
    for (const name of fixture.parameterNames) {
      const expected = decodeFloat32(fixture.gradients[name] ?? "");
      expect(scaledMaxError(model.gradient(name).data, expected), name).toBeLessThan(1e-5);
    }

    const { step } = fixture;
    const gradientNorm = clipGradientNorm({ gradients: model.gradients, maxNorm: step.maxGradientNorm });
    expect(gradientNorm).toBeCloseTo(step.gradientNorm, 5);
    const optimizer = createAdamW({
      parameters: model.parameters,
      gradients: model.gradients,
      learningRate: step.learningRate,
      weightDecay: step.weightDecay,
    });
    optimizer.step();
    const after = model.sequenceLosses(batch).losses;
    expect(scaledMaxError(after, step.sequenceLossesAfter)).toBeLessThan(1e-5);
    expect(after[0]).toBeLessThan(fixture.sequenceLosses[0] as number);
  });

  it("gives log-probabilities consistent with the losses, and their gradient", () => {
    const model = createLlamaModel({ config: llamaPresets.tiny, blas, memory });
    loadHashedWeights(model);
    const logProbabilities = model.tokenLogProbabilities(batch).slice();
    for (let sequence = 0; sequence < batch.batchSize; sequence++) {
      const start = sequence * batch.sequenceLength;
      const sum = logProbabilities
        .subarray(start, start + batch.sequenceLength)
        .reduce((total, value) => total + value, 0);
      const mean = -sum / (fixture.tokenCounts[sequence] as number);
      expect(mean).toBeCloseTo(fixture.sequenceLosses[sequence] as number, 5);
    }
    // d(sum of log p) is -count * d(mean NLL): the two heads must backpropagate the same direction.
    const weights = new Float32Array(batch.tokens.length);
    batch.targets.forEach((target, row) => {
      const sequence = Math.floor(row / batch.sequenceLength);
      weights[row] =
        target < 0
          ? 0
          : -(fixture.sequenceLossGradients[sequence] as number) / (fixture.tokenCounts[sequence] as number);
    });
    model.backwardTokenLogProbabilities({ logProbabilityGradients: weights });
    const name = "model.layers.1.mlp.down_proj.weight";
    expect(scaledMaxError(model.gradient(name).data, decodeFloat32(fixture.gradients[name] ?? ""))).toBeLessThan(1e-5);
  });

  it("backpropagates a logits gradient computed outside the model like its own loss head", () => {
    const model = createLlamaModel({ config: llamaPresets.tiny, blas, memory });
    loadHashedWeights(model);
    const logits = model.forward(batch);
    const probabilities = createTensor({ shape: logits.shape, memory });
    const sequenceLosses = new Float64Array(batch.batchSize);
    const tokenCounts = new Int32Array(batch.batchSize);
    maskedCrossEntropyForward({
      logits,
      targets: batch.targets,
      batchSize: batch.batchSize,
      sequenceLosses,
      tokenCounts,
      probabilities,
    });
    maskedCrossEntropyBackward({
      probabilities,
      targets: batch.targets,
      batchSize: batch.batchSize,
      tokenCounts,
      sequenceLossGradients: fixture.sequenceLossGradients,
      logitsGradient: probabilities,
    });
    model.backward({ logitsGradient: probabilities });
    for (const name of fixture.parameterNames) {
      const expected = decodeFloat32(fixture.gradients[name] ?? "");
      expect(scaledMaxError(model.gradient(name).data, expected), name).toBeLessThan(1e-5);
    }
  });

  it("refuses a backward pass without a forward pass", () => {
    const model = createLlamaModel({ config: llamaPresets.tiny, blas, memory });
    expect(() => model.backwardSequenceLosses({ lossGradients: [1, 1] })).toThrow(/forward/);
  });
});

describe.each(testBackends())("tiny qwen2 (q/k/v biases, untied head) on $name", ({ blas, memory }) => {
  const batch = {
    tokens: Int32Array.from(qwen2Fixture.tokens),
    targets: Int32Array.from(qwen2Fixture.targets),
    batchSize: qwen2Fixture.batchSize,
    sequenceLength: qwen2Fixture.sequenceLength,
  };

  it("lays out q/k/v biases after the q/k/v weights, as the fixture script does", () => {
    expect({ ...qwen2Fixture.config, maxPositions: llamaPresets.tiny.maxPositions }).toEqual(qwen2Config);
    const names = llamaParameterLayout(qwen2Config).entries.map((entry) => entry.name);
    expect(names).toEqual(qwen2Fixture.parameterNames);
    expect(names.slice(2, 8)).toEqual([
      "model.layers.0.self_attn.q_proj.weight",
      "model.layers.0.self_attn.k_proj.weight",
      "model.layers.0.self_attn.v_proj.weight",
      "model.layers.0.self_attn.q_proj.bias",
      "model.layers.0.self_attn.k_proj.bias",
      "model.layers.0.self_attn.v_proj.bias",
    ]);
  });

  it("matches PyTorch: losses, every gradient (biases included) and one clipped AdamW step", () => {
    const model = createLlamaModel({ config: qwen2Config, blas, memory });
    loadHashedWeights(model);
    const { losses, tokenCounts } = model.sequenceLosses(batch);
    expect(Array.from(tokenCounts)).toEqual(qwen2Fixture.tokenCounts);
    expect(scaledMaxError(losses, qwen2Fixture.sequenceLosses)).toBeLessThan(1e-6);
    // The biases matter: the same weights without them give other losses.
    const withoutBias = createLlamaModel({ config: { ...qwen2Config, queryKeyValueBias: false }, blas, memory });
    for (const entry of withoutBias.layout)
      withoutBias.parameter(entry.name).data.set(model.parameter(entry.name).data);
    expect(scaledMaxError(withoutBias.sequenceLosses(batch).losses, qwen2Fixture.sequenceLosses)).toBeGreaterThan(1e-4);
    model.backwardSequenceLosses({ lossGradients: qwen2Fixture.sequenceLossGradients });
    for (const name of qwen2Fixture.parameterNames) {
      const expected = decodeFloat32(qwen2Fixture.gradients[name] ?? "");
      expect(expected.length, name).toBe(model.gradient(name).data.length);
      expect(scaledMaxError(model.gradient(name).data, expected), name).toBeLessThan(1e-5);
    }
    const { step } = qwen2Fixture;
    expect(clipGradientNorm({ gradients: model.gradients, maxNorm: step.maxGradientNorm })).toBeCloseTo(
      step.gradientNorm,
      5,
    );
    createAdamW({
      parameters: model.parameters,
      gradients: model.gradients,
      learningRate: step.learningRate,
      weightDecay: step.weightDecay,
    }).step();
    expect(scaledMaxError(model.sequenceLosses(batch).losses, step.sequenceLossesAfter)).toBeLessThan(1e-5);
  });

  it("starts its biases at zero and exempts them from weight decay with the norms", () => {
    const model = createLlamaModel({ config: qwen2Config, blas, memory, seed: 3 });
    const biases = model.layout.filter((entry) => entry.kind === "bias");
    expect(biases).toHaveLength(3 * qwen2Config.layers);
    for (const entry of biases) expect(model.parameter(entry.name).data.every((value) => value === 0)).toBe(true);
    const exempt = noDecaySpans(model.layout);
    expect(exempt).toContainEqual({ offset: (biases[0] as ParameterEntry).offset, length: 64 });
    expect(exempt).toHaveLength(biases.length + 2 * qwen2Config.layers + 1);
  });
});

describe("llama batches", () => {
  it("scores each sequence independently of its batch and of right padding", () => {
    const [backend] = testBackends();
    if (backend === undefined) {
      throw new Error("no backend");
    }
    const model = createLlamaModel({ config: llamaPresets.tiny, blas: backend.blas, memory: backend.memory, seed: 5 });
    const first = [5, 9, 200, 3, 17, 42];
    const second = [7, 7, 1, 99, 250, 0];
    const targets = (tokens: number[]) => [...tokens.slice(1), -1];
    const alone = model.sequenceLosses({
      tokens: Int32Array.from(first),
      targets: Int32Array.from(targets(first)),
      batchSize: 1,
      sequenceLength: 6,
    }).losses[0];
    // The same sequence second in a batch, then padded to length 8 with masked targets.
    const padded = [...first, 0, 0];
    const batch = model.sequenceLosses({
      tokens: Int32Array.from([...second, 0, 0, ...padded]),
      targets: Int32Array.from([...targets(second), -1, -1, ...targets(first), -1, -1]),
      batchSize: 2,
      sequenceLength: 8,
    });
    expect(batch.losses[1]).toBeCloseTo(alone as number, 5);
    expect(Array.from(batch.tokenCounts)).toEqual([5, 5]);
  });

  it("gives a smaller batch after a larger one (shared buffers) the losses and gradients of a fresh model", () => {
    const [backend] = testBackends();
    if (backend === undefined) throw new Error("no backend");
    const { blas, memory } = backend;
    const batchOf = (batchSize: number, sequenceLength: number, seed: number) => ({
      tokens: Int32Array.from({ length: batchSize * sequenceLength }, (_, index) => (index * 31 + seed) % 256),
      targets: Int32Array.from({ length: batchSize * sequenceLength }, (_, index) =>
        index % sequenceLength < 2 ? -1 : (index * 17 + seed) % 256,
      ),
      batchSize,
      sequenceLength,
    });
    const large = batchOf(3, 16, 1);
    const small = batchOf(2, 9, 2);
    const run = (model: LlamaModel, batch: ReturnType<typeof batchOf>) => {
      model.zeroGradients();
      const losses = Array.from(model.sequenceLosses(batch).losses);
      model.backwardSequenceLosses({ lossGradients: losses.map((_, index) => index + 1) });
      return { losses, gradients: model.gradients.slice() };
    };
    const shared = createLlamaModel({ config: llamaPresets.tiny, blas, memory, seed: 4 });
    run(shared, large);
    const afterLarge = run(shared, small);
    const fresh = run(createLlamaModel({ config: llamaPresets.tiny, blas, memory, seed: 4 }), small);
    expect(afterLarge.losses).toEqual(fresh.losses);
    expect(afterLarge.gradients).toEqual(fresh.gradients);
    // And back to the larger shape, which grows nothing.
    const again = run(shared, large);
    expect(again.losses).toEqual(
      run(createLlamaModel({ config: llamaPresets.tiny, blas, memory, seed: 4 }), large).losses,
    );
  });
});
