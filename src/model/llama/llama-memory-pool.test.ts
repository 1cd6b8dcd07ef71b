import { describe, expect, it } from "vitest";
import { createTensorMemory, type TensorMemory } from "../../engine/index.js";
import { createTestBlas } from "../../engine/testing/backends.js";
import { llamaPresets } from "./llama-config.js";
import { createLlamaModel } from "./llama-model.js";
import { createLlamaTrainer } from "./llama-trainer.js";

/** Three training steps of the tiny model in `memory`; returns the losses, final weights and the trainer's moments. */
function train(memory: TensorMemory) {
  const model = createLlamaModel({ config: llamaPresets.tiny, blas: createTestBlas(), memory, seed: 3 });
  const trainer = createLlamaTrainer({ model, learningRate: 3e-3 });
  const batchSize = 2;
  const sequenceLength = 16;
  const tokens = Int32Array.from({ length: batchSize * sequenceLength }, (_, index) => (index * 37 + 5) % 256);
  const targets = Int32Array.from({ length: batchSize * sequenceLength }, (_, index) => (index * 53 + 11) % 256);
  const losses = [0, 1, 2].map(() => trainer.step({ tokens, targets, batchSize, sequenceLength }).loss);
  return { losses, parameters: model.parameters.slice(), model, trainer };
}

describe("a llama model spread over several WebAssembly memories", () => {
  it("trains exactly as in one memory, every op in the kernels (strict: no heap operand)", () => {
    // 1 MiB memories: the weights and gradients fill the first, the moments and activations open more.
    const pool = createTensorMemory({ kind: "wasm", memoryBytes: 2 ** 20, strict: true });
    const spread = train(pool);
    const whole = train(createTensorMemory({ kind: "wasm", strict: true }));
    expect(pool.description).toMatch(/^WebAssembly SIMD kernels, [2-9] shared memories/);
    expect(spread.losses).toEqual(whole.losses);
    expect(spread.losses[2]).toBeLessThan(spread.losses[0] as number);
    expect(spread.parameters.findIndex((value, index) => value !== whole.parameters[index])).toBe(-1);
  });
});
