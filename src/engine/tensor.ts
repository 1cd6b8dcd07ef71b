/**
 * Float32 tensors: a shape over a typed array that the tensor does not own exclusively. Ops read and
 * write the arrays they are handed and allocate nothing; whoever creates a tensor owns its memory and
 * decides when it is reused (the model keeps one workspace per batch shape).
 */
import { ShapeError } from "./engine-errors.js";
import type { TensorMemory } from "./tensor-memory.js";

/** A dense row-major Float32 tensor. `data.length` equals the product of `shape`. */
export interface Tensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** Number of elements of a shape (1 for a scalar shape `[]`). */
export function shapeSize(shape: readonly number[]): number {
  let size = 1;
  for (const dimension of shape) {
    if (!Number.isInteger(dimension) || dimension < 0) {
      throw new ShapeError(`invalid dimension ${dimension} in shape [${shape.join(", ")}]`);
    }
    size *= dimension;
  }
  return size;
}

/**
 * Creates a tensor. With `data` it wraps that array (no copy), which must have exactly the shape's
 * size; without, it allocates zeros from `memory` (default: a plain heap array).
 */
export function createTensor(options: {
  shape: readonly number[];
  data?: Float32Array;
  memory?: TensorMemory;
}): Tensor {
  const size = shapeSize(options.shape);
  const data = options.data ?? options.memory?.allocate(size) ?? new Float32Array(size);
  if (data.length !== size) {
    throw new ShapeError(`data has ${data.length} elements, shape [${options.shape.join(", ")}] needs ${size}`);
  }
  return { shape: [...options.shape], data };
}

/** A tensor over elements `[offset, offset + size)` of `data`, sharing its memory. */
export function viewTensor(options: { data: Float32Array; offset?: number; shape: readonly number[] }): Tensor {
  const offset = options.offset ?? 0;
  const size = shapeSize(options.shape);
  if (offset < 0 || offset + size > options.data.length) {
    throw new ShapeError(`view [${offset}, ${offset + size}) is outside an array of ${options.data.length} elements`);
  }
  return { shape: [...options.shape], data: options.data.subarray(offset, offset + size) };
}

/** Throws a ShapeError naming `what` unless `tensor` has exactly `shape`. */
export function assertShape(tensor: Tensor, shape: readonly number[], what: string): void {
  const actual = tensor.shape;
  let same = actual.length === shape.length && tensor.data.length === shapeSize(shape);
  for (let index = 0; same && index < shape.length; index++) {
    same = actual[index] === shape[index];
  }
  if (!same) {
    throw new ShapeError(`${what}: expected shape [${shape.join(", ")}], got [${actual.join(", ")}]`);
  }
}

/** Throws a ShapeError naming `what` unless `array` has exactly `length` elements. */
export function assertLength(array: { readonly length: number }, length: number, what: string): void {
  if (array.length !== length) {
    throw new ShapeError(`${what}: expected ${length} elements, got ${array.length}`);
  }
}
