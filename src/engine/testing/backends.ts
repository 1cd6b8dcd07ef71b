/**
 * The backends every op test runs on: native BLAS with tensors in wasm memory (SIMD kernels), and
 * pure TypeScript (TypeScript matrix multiply, heap arrays, TypeScript loops).
 */
import { type Blas, createBlas } from "../blas.js";
import { createTensor, type Tensor } from "../tensor.js";
import { createTensorMemory, type TensorMemory } from "../tensor-memory.js";

/** One engine configuration plus helpers that allocate test data in its memory. */
export interface TestBackend {
  name: string;
  blas: Blas;
  memory: TensorMemory;
  /** A tensor in this backend's memory, holding `values` when given (zeros otherwise). */
  tensor(shape: readonly number[], values?: ArrayLike<number>): Tensor;
  /** A Float32Array in this backend's memory (zeros, or a copy of `values`). */
  float32(lengthOrValues: number | ArrayLike<number>): Float32Array;
  /** An Int32Array in this backend's memory holding `values`. */
  int32(values: ArrayLike<number>): Int32Array;
}

function createTestBackend(name: string, blas: Blas, memory: TensorMemory): TestBackend {
  const float32 = (lengthOrValues: number | ArrayLike<number>) => {
    const length = typeof lengthOrValues === "number" ? lengthOrValues : lengthOrValues.length;
    const array = memory.allocate(length);
    if (typeof lengthOrValues !== "number") {
      array.set(Array.from(lengthOrValues));
    }
    return array;
  };
  return {
    name,
    blas,
    memory,
    tensor: (shape, values) => {
      const tensor = createTensor({ shape, memory });
      if (values !== undefined) {
        tensor.data.set(Array.from(values));
      }
      return tensor;
    },
    float32,
    int32: (values) => {
      const array = memory.allocateInt32(values.length);
      array.set(Array.from(values));
      return array;
    },
  };
}

/**
 * Both backends, native first. One native thread: test files run in parallel on few cores. Throws
 * when no native library loads or the runtime lacks WebAssembly SIMD, so a missing piece fails loudly
 * instead of silently testing one backend twice.
 */
export function testBackends(): TestBackend[] {
  return [
    createTestBackend(
      "native BLAS + wasm kernels",
      createBlas({ backend: "native", threads: 1 }),
      createTensorMemory({ kind: "wasm" }),
    ),
    createTestBackend("TypeScript", createBlas({ backend: "typescript" }), createTensorMemory({ kind: "heap" })),
  ];
}
