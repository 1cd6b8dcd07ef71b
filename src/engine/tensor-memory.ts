/**
 * Where tensor data lives. `wasm` memory is a pool of shared WebAssembly memories (each at most
 * 4 GiB, the wasm32 limit), each with its own instance of the SIMD kernels
 * (kernels/engine-kernels.wat); the BLAS library addresses all of them directly. An op runs the
 * kernels of the memory holding most of its operands' bytes and copies operands that live elsewhere
 * through that memory's staging area (`runKernels`, kernel-call.ts), so a model of any size runs its
 * element-wise work in the kernels. `heap` memory is ordinary typed arrays (TypeScript loops).
 * Buffers are owned by whoever allocated them and handed back with `release`.
 */
import { TensorMemoryError } from "./engine-errors.js";
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
  /** For `doctor`: the kind, and for wasm the memories and bytes reserved. */
  readonly description: string;
  /**
   * Strict memory (tests): an op given both arrays of this memory and plain heap arrays throws a
   * TensorMemoryError instead of copying the heap arrays in.
   */
  readonly strict: boolean;
  /** A zero-filled Float32Array of `length` elements; throws TensorMemoryError when it cannot. */
  allocate(length: number): Float32Array;
  /** A zero-filled Int32Array of `length` elements (token ids, positions). */
  allocateInt32(length: number): Int32Array;
  /** Hands an array from `allocate`/`allocateInt32` back for reuse; it must not be used afterwards. */
  release(array: Float32Array | Int32Array): void;
}

/** One WebAssembly memory of a pool, with its kernel instance and its staging area. */
export interface KernelRegion {
  readonly kernels: EngineKernels;
  readonly pool: TensorMemory;
  /** Two floats at address 0 that kernels write row statistics to. */
  readonly scratch: Float32Array;
  /** Bytes reserved for copies of operands from other memories, at `stagingOffset`. */
  readonly stagingOffset: number;
  readonly stagingBytes: number;
  /** Current buffer of the memory (it changes when the memory grows). */
  buffer(): ArrayBufferLike;
  /** A byte offset for `bytes` bytes (growing the memory), or undefined when this memory is full. */
  take(bytes: number): number | undefined;
  /** Returns bytes from `take`. */
  give(offset: number): void;
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

const regions = new WeakMap<ArrayBufferLike, KernelRegion>();
const alignment = 64;
const pageBytes = 65536;
/** The wasm32 limit: 65536 pages of 64 KiB. */
export const maximumWasmMemoryBytes = 65536 * pageBytes;
let compiledModule: object | undefined;

/** The memory region an array lives in, or undefined for heap arrays. */
export function regionOf(array: ArrayBufferView): KernelRegion | undefined {
  return regions.get(array.buffer);
}

/** The kernels when every array lives in one wasm memory region, else undefined. */
export function kernelsFor(...arrays: ArrayBufferView[]): EngineKernels | undefined {
  const first = arrays[0];
  const region = first === undefined ? undefined : regions.get(first.buffer);
  if (region === undefined) return undefined;
  return arrays.every((array) => regions.get(array.buffer) === region) ? region.kernels : undefined;
}

/** The tensor memory (pool) an array was allocated from, if it came from a wasm tensor memory. */
export function memoryOf(array: ArrayBufferView): TensorMemory | undefined {
  return regions.get(array.buffer)?.pool;
}

/** Plain typed arrays; ops run their TypeScript loops on them. */
export function createHeapMemory(): TensorMemory {
  return {
    kind: "heap",
    description: "heap typed arrays (TypeScript loops)",
    strict: false,
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
 * "wasm" requires it, "heap" never uses it. Wasm memory is a pool of memories of at most
 * `memoryBytes` each (default and maximum 4 GiB; smaller in tests to exercise several), opened as
 * needed up to `maximumMemories` (default 64); each array lives whole in one memory, and an
 * allocation no memory can hold throws TensorMemoryError (there is no slow fallback). `strict`
 * (default false): see TensorMemory.strict.
 */
export function createTensorMemory(
  options: { kind?: "auto" | "wasm" | "heap"; memoryBytes?: number; maximumMemories?: number; strict?: boolean } = {},
): TensorMemory {
  const { kind = "auto", memoryBytes = maximumWasmMemoryBytes, maximumMemories = 64, strict = false } = options;
  if (kind === "heap" || (kind === "auto" && !wasmKernelsAvailable())) {
    return createHeapMemory();
  }
  if (!wasmKernelsAvailable() || compiledModule === undefined) {
    throw new TensorMemoryError("this runtime cannot compile the engine's WebAssembly SIMD kernels");
  }
  if (!Number.isInteger(memoryBytes) || memoryBytes < 16 * pageBytes || memoryBytes > maximumWasmMemoryBytes) {
    throw new TensorMemoryError(`memoryBytes must be an integer from 1 MiB to 4 GiB, got ${memoryBytes}`);
  }
  return createWasmPool({ module: compiledModule, memoryBytes, maximumMemories, strict });
}

function createWasmPool(options: {
  module: object;
  memoryBytes: number;
  maximumMemories: number;
  strict: boolean;
}): TensorMemory {
  const { module, memoryBytes, maximumMemories, strict } = options;
  const pool: KernelRegion[] = [];
  const usable = memoryBytes - alignment - stagingBytesFor(memoryBytes);
  const place = (bytes: number, what: string): { region: KernelRegion; offset: number } => {
    if (bytes > usable) {
      throw new TensorMemoryError(
        `cannot allocate ${what} of ${mebibytes(bytes)}: one WebAssembly memory holds at most ${mebibytes(usable)}`,
      );
    }
    for (const region of pool) {
      const offset = region.take(bytes);
      if (offset !== undefined) return { region, offset };
    }
    if (pool.length >= maximumMemories) {
      throw new TensorMemoryError(
        `cannot allocate ${what} of ${mebibytes(bytes)}: all ${maximumMemories} WebAssembly memories are full`,
      );
    }
    const region = createRegion({ module, memoryBytes, pool: tensorMemory });
    pool.push(region);
    const offset = region.take(bytes);
    if (offset === undefined) {
      throw new TensorMemoryError(
        `cannot allocate ${what} of ${mebibytes(bytes)}: a new WebAssembly memory failed to grow`,
      );
    }
    return { region, offset };
  };
  const tensorMemory: TensorMemory = {
    kind: "wasm",
    strict,
    get description() {
      const bytes = pool.reduce((sum, region) => sum + region.buffer().byteLength, 0);
      return `WebAssembly SIMD kernels, ${pool.length} shared ${pool.length === 1 ? "memory" : "memories"} of ${mebibytes(bytes)} in all (at most ${mebibytes(memoryBytes)} each)`;
    },
    allocate(length) {
      const { region, offset } = place(length * 4, `${length} floats`);
      return new Float32Array(region.buffer(), offset, length);
    },
    allocateInt32(length) {
      const { region, offset } = place(length * 4, `${length} integers`);
      return new Int32Array(region.buffer(), offset, length);
    },
    release(array) {
      const region = regions.get(array.buffer);
      if (region !== undefined && region.pool === tensorMemory) region.give(array.byteOffset);
    },
  };
  return tensorMemory;
}

/** Staging area of a memory: 1/16 of it, at most 16 MiB. */
function stagingBytesFor(memoryBytes: number): number {
  return Math.min(16 * 2 ** 20, Math.floor(memoryBytes / 16 / alignment) * alignment);
}

function mebibytes(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(bytes < 10 * 2 ** 20 ? 1 : 0)} MiB`;
}

function createRegion(options: { module: object; memoryBytes: number; pool: TensorMemory }): KernelRegion {
  const { module, memoryBytes, pool } = options;
  const maximumPages = memoryBytes / pageBytes;
  const stagingBytes = stagingBytesFor(memoryBytes);
  const initialPages = Math.ceil((alignment + stagingBytes) / pageBytes);
  const memory = new webAssembly.Memory({ initial: initialPages, maximum: Math.floor(maximumPages), shared: true });
  const instance = new webAssembly.Instance(module, { env: { memory } });
  const kernels = instance.exports as unknown as EngineKernels;
  const end0 = initialPages * pageBytes;
  // Free ranges in bytes, sorted by offset; the first `alignment` bytes are kernel scratch, then staging.
  const free: { offset: number; size: number }[] = [];
  if (end0 > alignment + stagingBytes) {
    free.push({ offset: alignment + stagingBytes, size: end0 - alignment - stagingBytes });
  }
  const allocated = new Map<number, number>();
  // Bytes past this offset were never handed out: fresh wasm memory is already zero there.
  let highWater = alignment + stagingBytes;
  let buffer = memory.buffer;
  const register = () => {
    buffer = memory.buffer;
    regions.set(buffer, region);
  };

  const grow = (bytes: number): boolean => {
    const last = free[free.length - 1];
    const end = buffer.byteLength;
    const available = last !== undefined && last.offset + last.size === end ? last.size : 0;
    const wanted = Math.ceil((bytes - available) / pageBytes);
    const room = Math.floor(maximumPages) - end / pageBytes;
    if (wanted > room) return false;
    const pages = Math.min(room, Math.max(wanted, Math.ceil(end / pageBytes / 4)));
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

  const region: KernelRegion = {
    kernels,
    pool,
    scratch: new Float32Array(memory.buffer, 0, 2),
    stagingOffset: alignment,
    stagingBytes,
    buffer: () => buffer,
    take(bytes) {
      const size = Math.max(alignment, Math.ceil(bytes / alignment) * alignment);
      let index = free.findIndex((range) => range.size >= size);
      if (index < 0) {
        if (!grow(size)) return undefined;
        index = free.findIndex((range) => range.size >= size);
      }
      const range = free[index];
      if (range === undefined) return undefined;
      const offset = range.offset;
      range.offset += size;
      range.size -= size;
      if (range.size === 0) free.splice(index, 1);
      allocated.set(offset, size);
      if (offset < highWater) {
        new Uint8Array(buffer, offset, Math.min(size, highWater - offset)).fill(0);
      }
      highWater = Math.max(highWater, offset + size);
      return offset;
    },
    give(offset) {
      const size = allocated.get(offset);
      if (size === undefined) return;
      allocated.delete(offset);
      let index = free.findIndex((range) => range.offset > offset);
      if (index < 0) index = free.length;
      free.splice(index, 0, { offset, size });
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
  register();
  return region;
}
