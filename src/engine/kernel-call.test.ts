import { describe, expect, it } from "vitest";
import { TensorMemoryError } from "./engine-errors.js";
import { runKernels } from "./kernel-call.js";
import { rmsNormBackward, rmsNormForward } from "./ops/rms-norm.js";
import { createAdamW } from "./optimizer/adamw.js";
import { createTensor } from "./tensor.js";
import { createTensorMemory, kernelsFor, memoryOf, regionOf } from "./tensor-memory.js";
import { pseudoRandom } from "./testing/gradient-check.js";

const mebibyte = 2 ** 20;

/** The first index where two arrays differ, or -1 (deep equality of large arrays is slow in vitest). */
function firstDifference(a: Float32Array | undefined, b: Float32Array | undefined): number {
  if (a === undefined || b === undefined || a.length !== b.length) return 0;
  return a.findIndex((value, index) => value !== b[index]);
}

/** A pool of 1 MiB memories whose first memory is nearly full, so the next arrays open a second one. */
function crowdedPool(options: { strict?: boolean } = {}) {
  const memory = createTensorMemory({ kind: "wasm", memoryBytes: mebibyte, ...options });
  const filler = memory.allocate(200_000); // 800 kB of the first memory's ~960 kB
  return { memory, filler };
}

describe("tensor memory past one WebAssembly memory", () => {
  it("opens further memories instead of falling back to heap arrays, and refuses what no memory holds", () => {
    const { memory, filler } = crowdedPool();
    const next = memory.allocate(100_000);
    expect(memoryOf(next)).toBe(memory);
    expect(regionOf(next)).toBeDefined();
    expect(regionOf(next)).not.toBe(regionOf(filler));
    expect(memory.description).toMatch(/^WebAssembly SIMD kernels, 2 shared memories of .* \(at most 1\.0 MiB each\)$/);
    expect(() => memory.allocate(300_000)).toThrow(TensorMemoryError);
    expect(() => memory.allocate(300_000)).toThrow(
      /^cannot allocate 300000 floats of 1\.1 MiB: one WebAssembly memory holds at most 0\.9 MiB$/,
    );
    const capped = createTensorMemory({ kind: "wasm", memoryBytes: mebibyte, maximumMemories: 1 });
    capped.allocate(200_000);
    expect(() => capped.allocate(100_000)).toThrow(/all 1 WebAssembly memories are full/);
  });

  it("runs RMSNorm's kernels on operands from two memories with the same results as from one", () => {
    const rows = 5;
    const dimension = 24;
    const run = (split: boolean) => {
      const { memory } = crowdedPool();
      const place = createTensorMemory({ kind: "wasm" });
      const weightMemory = split ? place : memory;
      const input = createTensor({ shape: [rows, dimension], memory });
      input.data.set(pseudoRandom(rows * dimension, 1));
      const weight = createTensor({ shape: [dimension], memory: weightMemory });
      weight.data.set(pseudoRandom(dimension, 2));
      const output = createTensor({ shape: [rows, dimension], memory });
      const inverseRms = memory.allocate(rows);
      rmsNormForward({ input, weight, epsilon: 1e-5, output, inverseRms });
      const outputGradient = createTensor({ shape: [rows, dimension], memory });
      outputGradient.data.set(pseudoRandom(rows * dimension, 3));
      const inputGradient = createTensor({ shape: [rows, dimension], memory });
      const weightGradient = createTensor({ shape: [dimension], memory: weightMemory });
      weightGradient.data.fill(0.5); // accumulates: the copy into the kernels' memory must carry it in
      rmsNormBackward({ input, weight, inverseRms, outputGradient, inputGradient, weightGradient });
      expect(kernelsFor(input.data, weight.data) === undefined).toBe(split);
      return [...output.data, ...inverseRms, ...inputGradient.data, ...weightGradient.data];
    };
    expect(run(true)).toEqual(run(false));
  });

  it("updates parameters whose AdamW moments live in another memory exactly as in one memory", () => {
    const count = 300_000; // more than one chunk
    const run = (split: boolean) => {
      const memory = createTensorMemory({ kind: "wasm", memoryBytes: split ? 4 * mebibyte : 64 * mebibyte });
      const parameters = memory.allocate(count);
      parameters.set(pseudoRandom(count, 4));
      const gradients = memory.allocate(count);
      gradients.set(pseudoRandom(count, 5));
      const optimizer = createAdamW({ parameters, gradients, noDecay: [{ offset: 10, length: 1000 }] });
      expect(regionOf(optimizer.secondMoment) === regionOf(parameters)).toBe(!split);
      optimizer.step();
      gradients.set(pseudoRandom(count, 6));
      optimizer.step();
      return [parameters.slice(), optimizer.firstMoment.slice(), optimizer.secondMoment.slice()];
    };
    const [splitParameters, splitFirst, splitSecond] = run(true);
    const [parameters, first, second] = run(false);
    expect(firstDifference(splitParameters, parameters)).toBe(-1);
    expect(firstDifference(splitFirst, first)).toBe(-1);
    expect(firstDifference(splitSecond, second)).toBe(-1);
    expect(first?.[0]).not.toBe(0);
  });

  it("refuses a heap operand beside a strict memory's arrays, naming the op; copies it otherwise", () => {
    for (const strict of [true, false]) {
      const memory = createTensorMemory({ kind: "wasm", strict });
      const input = createTensor({ shape: [2, 8], memory });
      input.data.set(pseudoRandom(16, 7));
      const weight = createTensor({ shape: [8], data: new Float32Array(8).fill(1) });
      const output = createTensor({ shape: [2, 8], memory });
      const call = () => rmsNormForward({ input, weight, epsilon: 1e-5, output, inverseRms: memory.allocate(2) });
      if (strict) {
        expect(call).toThrow(TensorMemoryError);
        expect(call).toThrow(/^rmsNormForward: an operand is a heap array, outside the strict tensor memory$/);
      } else {
        call();
        expect(output.data[0]).not.toBe(0);
      }
    }
  });

  it("leaves heap-only operands to the caller's TypeScript loop", () => {
    let ran = false;
    const used = runKernels({
      operation: "test",
      inputs: [new Float32Array(4)],
      run: () => {
        ran = true;
      },
    });
    expect([used, ran]).toEqual([false, false]);
  });
});
