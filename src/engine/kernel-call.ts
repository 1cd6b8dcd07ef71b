/**
 * Runs the SIMD kernels on operands from any wasm memory of a pool: the kernels of the memory holding
 * most of the operands' bytes run, and operands that live in another memory (or on the heap) are
 * copied into that memory's staging area first and, when they are outputs, copied back after.
 */
import { TensorMemoryError } from "./engine-errors.js";
import { type EngineKernels, type KernelRegion, regionOf } from "./tensor-memory.js";

/** What a kernel call sees: the kernels, their memory's statistics scratch, operand addresses. */
export interface KernelCall {
  readonly kernels: EngineKernels;
  /** Two floats at byte address 0 of the kernels' memory (row maximum and sum of exps). */
  readonly scratch: Float32Array;
  /** The byte address in the kernels' memory of an operand given to runKernels. */
  address(array: ArrayBufferView): number;
}

interface Staged {
  array: ArrayBufferView;
  offset: number;
  output: boolean;
  /** Whether `offset` came from region.take (given back after) rather than the staging area. */
  taken: boolean;
}

/**
 * Runs `run` with the kernels when at least one operand lives in wasm memory and returns true;
 * returns false when every operand is a heap array (the caller then runs its TypeScript loop).
 * `outputs` are written (and read, for accumulating ops); `inputs` are only read. `operation` names
 * the op in errors: an operand too large to copy, or a heap operand beside a strict memory's arrays.
 */
export function runKernels(options: {
  operation: string;
  inputs: readonly ArrayBufferView[];
  outputs?: readonly ArrayBufferView[];
  run: (call: KernelCall) => void;
}): boolean {
  const { operation, inputs, outputs = [], run } = options;
  const operands = [...outputs, ...inputs];
  const bytesByRegion = new Map<KernelRegion, number>();
  let heapOperand = false;
  for (const array of operands) {
    const region = regionOf(array);
    if (region === undefined) {
      heapOperand = true;
      continue;
    }
    bytesByRegion.set(region, (bytesByRegion.get(region) ?? 0) + array.byteLength);
  }
  if (bytesByRegion.size === 0) return false;
  const candidates = [...bytesByRegion.entries()].sort((a, b) => b[1] - a[1]).map(([region]) => region);
  const home = candidates[0] as KernelRegion;
  if (heapOperand && home.pool.strict) {
    throw new TensorMemoryError(`${operation}: an operand is a heap array, outside the strict tensor memory`);
  }
  if (bytesByRegion.size === 1 && !heapOperand) {
    run({ kernels: home.kernels, scratch: home.scratch, address: (array) => array.byteOffset });
    return true;
  }
  for (const region of candidates) {
    const staged = stage({ region, outputs, inputs });
    if (staged === undefined) continue;
    try {
      run({
        kernels: region.kernels,
        scratch: region.scratch,
        address: (array) =>
          regionOf(array) === region
            ? array.byteOffset
            : (staged.find((entry) => entry.array === array)?.offset ?? missing(operation)),
      });
      for (const entry of staged) {
        if (entry.output) copyBytes({ from: region, offset: entry.offset, to: entry.array });
      }
    } finally {
      for (const entry of staged) if (entry.taken) region.give(entry.offset);
    }
    return true;
  }
  throw new TensorMemoryError(`${operation}: no WebAssembly memory has room to copy its operands into`);
}

function missing(operation: string): never {
  throw new TensorMemoryError(`${operation}: asked for the address of an array it was not given`);
}

/** Copies the operands outside `region` into it; undefined when they do not fit. */
function stage(options: {
  region: KernelRegion;
  outputs: readonly ArrayBufferView[];
  inputs: readonly ArrayBufferView[];
}): Staged[] | undefined {
  const { region, outputs, inputs } = options;
  const staged: Staged[] = [];
  let stagingUsed = 0;
  const add = (array: ArrayBufferView, output: boolean) => {
    if (regionOf(array) === region) return true;
    const existing = staged.find((entry) => entry.array === array);
    if (existing !== undefined) {
      existing.output ||= output;
      return true;
    }
    const size = Math.ceil(array.byteLength / 64) * 64;
    let offset: number | undefined;
    let taken = false;
    if (stagingUsed + size <= region.stagingBytes) {
      offset = region.stagingOffset + stagingUsed;
      stagingUsed += size;
    } else {
      offset = region.take(size);
      taken = true;
    }
    if (offset === undefined) return false;
    new Uint8Array(region.buffer(), offset, array.byteLength).set(
      new Uint8Array(array.buffer, array.byteOffset, array.byteLength),
    );
    staged.push({ array, offset, output, taken });
    return true;
  };
  for (const [list, output] of [
    [outputs, true],
    [inputs, false],
  ] as const) {
    for (const array of list) {
      if (!add(array, output)) {
        for (const entry of staged) if (entry.taken) region.give(entry.offset);
        return undefined;
      }
    }
  }
  return staged;
}

function copyBytes(options: { from: KernelRegion; offset: number; to: ArrayBufferView }): void {
  const { from, offset, to } = options;
  new Uint8Array(to.buffer, to.byteOffset, to.byteLength).set(new Uint8Array(from.buffer(), offset, to.byteLength));
}

/**
 * Elements per chunk when an element-wise op over huge arrays of 4-byte elements (AdamW) runs through
 * runKernels: small enough that a chunk of every one of `arrays` fits the staging area of any memory
 * they live in (at most 2^18, a multiple of 16).
 */
export function elementwiseChunk(arrays: readonly ArrayBufferView[]): number {
  let chunk = 2 ** 18;
  for (const array of arrays) {
    const region = regionOf(array);
    if (region !== undefined) chunk = Math.min(chunk, region.stagingBytes / 4 / arrays.length);
  }
  return Math.max(16, Math.floor(chunk / 16) * 16);
}
