/**
 * The backends every op test runs on: the BLAS under test (native, or TypeScript where
 * STABLE_ALIGNMENT_TEST_BLAS=none or no library loads) with tensors in wasm memory (SIMD kernels),
 * and pure TypeScript (TypeScript matrix multiply, heap arrays, TypeScript loops).
 */
import { type Blas, createBlas } from "../blas.js";
import { BlasUnavailableError } from "../engine-errors.js";
import { createTensor, type Tensor } from "../tensor.js";
import { createTensorMemory, type TensorMemory } from "../tensor-memory.js";
import { blasUnderTest, testBlasVariable } from "./blas-under-test.js";

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
 * The BLAS the tests run on (see blas-under-test.ts), with `threads` native threads (default 1: test
 * files run in parallel on few cores). Throws BlasUnavailableError when
 * STABLE_ALIGNMENT_TEST_BLAS=reference and the reference BLAS does not load or is another library.
 */
export function createTestBlas({ threads = 1 }: { threads?: number } = {}): Blas {
  const forced = blasUnderTest();
  if (forced.setting !== "reference") return createBlas({ libraryPaths: forced.libraryPaths, threads });
  const blas = createBlas({ backend: "native", libraryPaths: forced.libraryPaths, threads });
  if (blas.kind !== "reference") {
    throw new BlasUnavailableError(
      `${testBlasVariable}=reference loaded ${blas.description}, which is not the netlib reference BLAS`,
      [],
    );
  }
  return blas;
}

/**
 * Both backends, the BLAS under test first. Throws when the runtime lacks WebAssembly SIMD, so a
 * missing piece fails loudly instead of silently testing the TypeScript loops twice.
 */
export function testBackends(): TestBackend[] {
  const blas = createTestBlas();
  return [
    createTestBackend(
      `${blas.kind === "typescript" ? "TypeScript BLAS" : `native BLAS (${blas.kind})`} + wasm kernels`,
      blas,
      createTensorMemory({ kind: "wasm", strict: true }),
    ),
    createTestBackend("TypeScript", createBlas({ backend: "typescript" }), createTensorMemory({ kind: "heap" })),
  ];
}
