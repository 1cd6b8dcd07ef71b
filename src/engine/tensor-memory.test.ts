import { describe, expect, it } from "vitest";
import { engineKernelsSourceSha256 } from "./kernels/engine-kernels-wasm.js";
import { swigluForward } from "./ops/swiglu.js";
import { createTensor } from "./tensor.js";
import { createTensorMemory, kernelsFor, memoryOf } from "./tensor-memory.js";
import { fileSha256 } from "./testing/fixtures.js";
import { pseudoRandom } from "./testing/gradient-check.js";

describe("createTensorMemory", () => {
  it("was assembled from the current kernel source (npx tsx scripts/build-engine-kernels.ts)", () => {
    expect(engineKernelsSourceSha256).toBe(fileSha256("src/engine/kernels/engine-kernels.wat"));
  });

  it("runs kernels only when every array lives in the same wasm memory", () => {
    const memory = createTensorMemory({ kind: "wasm" });
    const other = createTensorMemory({ kind: "wasm" });
    const a = memory.allocate(8);
    const b = memory.allocate(8);
    expect(kernelsFor(a, b)).toBeDefined();
    expect(memoryOf(a)).toBe(memory);
    expect(kernelsFor(a, other.allocate(8))).toBeUndefined();
    expect(kernelsFor(a, new Float32Array(8))).toBeUndefined();
    expect(createTensorMemory({ kind: "heap" }).kind).toBe("heap");
  });

  it("hands out zeroed, non-overlapping buffers, reuses released ones, and keeps old views valid when growing", () => {
    const memory = createTensorMemory({ kind: "wasm" });
    const first = memory.allocate(100);
    first.fill(7);
    const second = memory.allocate(100);
    expect(second.every((value) => value === 0)).toBe(true);
    expect(first[99]).toBe(7);
    memory.release(first);
    const reused = memory.allocate(50);
    expect(reused.byteOffset).toBe(first.byteOffset);
    expect(reused.every((value) => value === 0)).toBe(true);
    second.fill(3);
    const large = memory.allocate(4_000_000); // grows the memory several times over
    large.fill(1);
    expect(second[0]).toBe(3);
    expect(large.byteOffset).toBeGreaterThan(second.byteOffset);
    expect(kernelsFor(second, large)).toBeDefined();
  });

  it("gives the kernels' results within float32 rounding of the TypeScript loops", () => {
    const memory = createTensorMemory({ kind: "wasm" });
    const values = pseudoRandom(6 * 14, 3, 20); // exp arguments across [-20, 20]; 7 columns exercise the tails
    const wasmInput = createTensor({ shape: [6, 14], memory });
    wasmInput.data.set(values);
    const wasmOutput = createTensor({ shape: [6, 7], memory });
    const heapOutput = createTensor({ shape: [6, 7] });
    swigluForward({ gateUp: wasmInput, output: wasmOutput });
    swigluForward({ gateUp: createTensor({ shape: [6, 14], data: values }), output: heapOutput });
    wasmOutput.data.forEach((value, index) => {
      const expected = heapOutput.data[index] as number;
      expect(Math.abs(value - expected)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(expected)));
    });
  });
});
