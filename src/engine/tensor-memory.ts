/**
 * Where tensor data lives. `wasm` memory is one shared WebAssembly memory that the SIMD kernels
 * (kernels/engine-kernels.wat) and the BLAS library both address directly: ops whose arrays all live
 * in the same such memory run the kernels, any other arrays run the plain TypeScript loops. `heap`
 * memory is ordinary typed arrays. Buffers are owned by whoever allocated them and handed back with
 * `release` (models do this when their batch shape changes).
 */
import { StableAlignmentError } from "../spec/errors.js";
import { engineKernelsWasmBase64 } from "./kernels/engine-kernels-wasm.js";

/** The kernels' exports; pointers are byte offsets into their memory, counts are elements. */
export interface EngineKernels {
  swigluForward(gateUp: number, output: number, rows: number, hidden: number): void;
  swigluBackward(gateUp: number, outputGradient: number, gateUpGradient: number, rows: number, hidden: number): void;
  softmaxRows(source: number, target: number, statistics: number, rows: number, width: number): void;
  causalSoftmax(block: number, length: number): void;
  causalSoftmaxBackward(probabilities: number, gradient: number, length: number): void;
  rmsNormForward(
    input: number,
    weight: number,
    output: number,
    inverseRms: number,
    rows: number,
    dimension: number,
    epsilon: number,
  ): void;
  rmsNormBackward(
    input: number,
    weight: number,
    inverseRms: number,
    outputGradient: number,
    inputGradient: number,
    weightGradient: number,
    rows: number,
    dimension: number,
  ): void;
  rotary(
    data: number,
    cos: number,
    sin: number,
    positions: number,
    rows: number,
    width: number,
    heads: number,
    headDimension: number,
    sign: number,
  ): void;
  adamw(
    parameters: number,
    gradients: number,
    first: number,
    second: number,
    count: number,
    beta1: number,
    beta2: number,
    stepSize: number,
    inverseSecondCorrection: number,
    epsilon: number,
    decayFactor: number,
    gradientScale: number,
  ): void;
  sumOfSquares(data: number, count: number): number;
  scale(data: number, count: number, factor: number): void;
}

/** Allocates tensor storage. */
export interface TensorMemory {
  readonly kind: "wasm" | "heap";
  /** For `doctor`: the kind, and for wasm the bytes reserved. */
  readonly description: string;
  /** A zero-filled Float32Array of `length` elements. */
  allocate(length: number): Float32Array;
  /** A zero-filled Int32Array of `length` elements (token ids, positions). */
  allocateInt32(length: number): Int32Array;
  /** Hands an array from `allocate`/`allocateInt32` back for reuse; it must not be used afterwards. */
  release(array: Float32Array | Int32Array): void;
}

interface Registration {
  kernels: EngineKernels;
  memory: TensorMemory;
  /** Two floats at address 0 that kernels write row statistics to. */
  scratch: Float32Array;
}

/** The slice of the WebAssembly API used here (the project's TypeScript lib has no DOM types). */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
  Memory: new (descriptor: {
    initial: number;
    maximum: number;
    shared: boolean;
  }) => {
    readonly buffer: ArrayBufferLike;
    grow(pages: number): number;
  };
}
const webAssembly = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

const registry = new WeakMap<ArrayBufferLike, Registration>();
const alignment = 64;
const pageBytes = 65536;
let compiledModule: object | undefined;

/**
 * The kernels when every array lives in one wasm tensor memory, else undefined (the caller then
 * runs its TypeScript loop).
 */
export function kernelsFor(...arrays: ArrayBufferView[]): EngineKernels | undefined {
  return registrationFor(arrays)?.kernels;
}

/** Like kernelsFor, plus the 2-float statistics scratch view of that memory. */
export function kernelScratchFor(
  ...arrays: ArrayBufferView[]
): { kernels: EngineKernels; scratch: Float32Array } | undefined {
  return registrationFor(arrays);
}

/** The tensor memory an array was allocated from, if it came from a wasm tensor memory. */
export function memoryOf(array: ArrayBufferView): TensorMemory | undefined {
  return registry.get(array.buffer)?.memory;
}

function registrationFor(arrays: ArrayBufferView[]): Registration | undefined {
  const first = arrays[0];
  if (first === undefined) {
    return undefined;
  }
  const registration = registry.get(first.buffer);
  if (registration === undefined) {
    return undefined;
  }
  for (let index = 1; index < arrays.length; index++) {
    if (registry.get((arrays[index] as ArrayBufferView).buffer) !== registration) {
      return undefined;
    }
  }
  return registration;
}

/** Plain typed arrays; ops run their TypeScript loops on them. */
export function createHeapMemory(): TensorMemory {
  return {
    kind: "heap",
    description: "heap typed arrays (TypeScript loops)",
    allocate: (length) => new Float32Array(length),
    allocateInt32: (length) => new Int32Array(length),
    release: () => {},
  };
}

/** Whether this runtime can run the SIMD kernels (WebAssembly SIMD and shared memory). */
export function wasmKernelsAvailable(): boolean {
  try {
    compiledModule ??= new webAssembly.Module(Buffer.from(engineKernelsWasmBase64, "base64"));
    return true;
  } catch {
    return false;
  }
}

/**
 * Creates tensor memory: `kind` "auto" (default) picks wasm when the runtime supports the kernels,
 * "wasm" requires it, "heap" never uses it. Wasm memory grows on demand up to 4 GiB; past that,
 * allocations fall back to heap arrays (correct, but without the kernels).
 */
export function createTensorMemory(options: { kind?: "auto" | "wasm" | "heap" } = {}): TensorMemory {
  const { kind = "auto" } = options;
  if (kind === "heap" || (kind === "auto" && !wasmKernelsAvailable())) {
    return createHeapMemory();
  }
  if (!wasmKernelsAvailable() || compiledModule === undefined) {
    throw new StableAlignmentError(
      "WASM_UNAVAILABLE",
      "this runtime cannot compile the engine's WebAssembly SIMD kernels",
    );
  }
  return createWasmMemory(compiledModule);
}

function createWasmMemory(module: object): TensorMemory {
  const memory = new webAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
  const instance = new webAssembly.Instance(module, { env: { memory } });
  const kernels = instance.exports as unknown as EngineKernels;
  const heap = createHeapMemory();
  // Free ranges in bytes, sorted by offset; the first `alignment` bytes stay reserved as kernel scratch.
  const free: { offset: number; size: number }[] = [{ offset: alignment, size: pageBytes - alignment }];
  const allocated = new Map<number, number>();
  // Bytes past this offset were never handed out: fresh wasm memory is already zero there.
  let highWater = 0;
  let buffer = memory.buffer;
  let registration: Registration;
  const register = () => {
    buffer = memory.buffer;
    registry.set(buffer, registration);
  };

  const grow = (bytes: number): boolean => {
    const last = free[free.length - 1];
    const end = buffer.byteLength;
    const available = last !== undefined && last.offset + last.size === end ? last.size : 0;
    const pages = Math.max(Math.ceil((bytes - available) / pageBytes), Math.ceil(end / pageBytes / 4));
    try {
      memory.grow(pages);
    } catch {
      return false;
    }
    register();
    if (available > 0 && last !== undefined) {
      last.size += pages * pageBytes;
    } else {
      free.push({ offset: end, size: pages * pageBytes });
    }
    return true;
  };

  const take = (bytes: number): number | undefined => {
    const size = Math.max(alignment, Math.ceil(bytes / alignment) * alignment);
    let index = free.findIndex((range) => range.size >= size);
    if (index < 0) {
      if (!grow(size)) {
        return undefined;
      }
      index = free.findIndex((range) => range.size >= size);
    }
    const range = free[index];
    if (range === undefined) {
      return undefined;
    }
    const offset = range.offset;
    range.offset += size;
    range.size -= size;
    if (range.size === 0) {
      free.splice(index, 1);
    }
    allocated.set(offset, size);
    if (offset < highWater) {
      new Uint8Array(buffer, offset, Math.min(size, highWater - offset)).fill(0);
    }
    highWater = Math.max(highWater, offset + size);
    return offset;
  };

  const tensorMemory: TensorMemory = {
    kind: "wasm",
    get description() {
      return `WebAssembly SIMD kernels, shared memory of ${(buffer.byteLength / 2 ** 20).toFixed(0)} MiB`;
    },
    allocate(length) {
      const offset = take(length * 4);
      return offset === undefined ? heap.allocate(length) : new Float32Array(buffer, offset, length);
    },
    allocateInt32(length) {
      const offset = take(length * 4);
      return offset === undefined ? heap.allocateInt32(length) : new Int32Array(buffer, offset, length);
    },
    release(array) {
      if (registry.get(array.buffer) !== registration) {
        return;
      }
      const size = allocated.get(array.byteOffset);
      if (size === undefined) {
        return;
      }
      allocated.delete(array.byteOffset);
      let index = free.findIndex((range) => range.offset > array.byteOffset);
      if (index < 0) {
        index = free.length;
      }
      free.splice(index, 0, { offset: array.byteOffset, size });
      // Merge with the following and the preceding range when they touch.
      const current = free[index] as { offset: number; size: number };
      const next = free[index + 1];
      if (next !== undefined && current.offset + current.size === next.offset) {
        current.size += next.size;
        free.splice(index + 1, 1);
      }
      const previous = free[index - 1];
      if (previous !== undefined && previous.offset + previous.size === current.offset) {
        previous.size += current.size;
        free.splice(index, 1);
      }
    },
  };
  registration = { kernels, memory: tensorMemory, scratch: new Float32Array(buffer, 0, 2) };
  register();
  return tensorMemory;
}
