/**
 * Rotary position embedding with Hugging Face's pairing: within each head of size d, dimension i is
 * rotated together with dimension i + d/2, by the angle position * theta^(-2i/d).
 */
import { ShapeError } from "../engine-errors.js";
import { runKernels } from "../kernel-call.js";
import { assertLength, type Tensor } from "../tensor.js";
import type { TensorMemory } from "../tensor-memory.js";

/** Cosines and sines for every position below `maxPositions`, each [maxPositions, headDimension / 2]. */
export interface RotaryTable {
  readonly headDimension: number;
  readonly maxPositions: number;
  readonly cos: Float32Array;
  readonly sin: Float32Array;
}

/**
 * Precomputes the rotation angles. `theta` is the RoPE base (Llama: 10000). Allocate from the
 * model's `memory` so the SIMD kernels can read the table (default: heap arrays).
 */
export function createRotaryTable(options: {
  headDimension: number;
  maxPositions: number;
  theta: number;
  memory?: TensorMemory;
}): RotaryTable {
  const { headDimension, maxPositions, theta, memory } = options;
  if (headDimension % 2 !== 0 || headDimension <= 0) {
    throw new ShapeError(`rotary head dimension must be even and positive, got ${headDimension}`);
  }
  const half = headDimension / 2;
  const cos = memory?.allocate(maxPositions * half) ?? new Float32Array(maxPositions * half);
  const sin = memory?.allocate(maxPositions * half) ?? new Float32Array(maxPositions * half);
  for (let index = 0; index < half; index++) {
    // Rounded to float32 first, as PyTorch and Hugging Face compute the frequencies in float32.
    const frequency = Math.fround(1 / Math.fround(theta ** Math.fround((2 * index) / headDimension)));
    for (let position = 0; position < maxPositions; position++) {
      const angle = Math.fround(position * frequency);
      cos[position * half + index] = Math.cos(angle);
      sin[position * half + index] = Math.sin(angle);
    }
  }
  return { headDimension, maxPositions, cos, sin };
}

function rotate(table: RotaryTable, tensor: Tensor, positions: Int32Array, heads: number, direction: 1 | -1): void {
  const [rows = 0, width = 0] = tensor.shape;
  const { headDimension, maxPositions, cos, sin } = table;
  assertLength(positions, rows, "rotary positions");
  if (heads * headDimension > width) {
    throw new ShapeError(`rotary: ${heads} heads of ${headDimension} exceed the row width ${width}`);
  }
  const half = headDimension / 2;
  const data = tensor.data;
  for (let row = 0; row < rows; row++) {
    const position = positions[row] as number;
    if (position < 0 || position >= maxPositions) {
      throw new ShapeError(`rotary: position ${position} at row ${row} is outside [0, ${maxPositions})`);
    }
  }
  const ranKernels = runKernels({
    operation: "rotary",
    inputs: [cos, sin, positions],
    outputs: [data],
    run: ({ kernels, address }) =>
      kernels.rotary(
        address(data),
        address(cos),
        address(sin),
        address(positions),
        rows,
        width,
        heads,
        headDimension,
        direction,
      ),
  });
  if (ranKernels) {
    return;
  }
  for (let row = 0; row < rows; row++) {
    const position = positions[row] as number;
    const tableStart = position * half;
    for (let head = 0; head < heads; head++) {
      const start = row * width + head * headDimension;
      for (let index = 0; index < half; index++) {
        const c = cos[tableStart + index] as number;
        const s = direction * (sin[tableStart + index] as number);
        const first = data[start + index] as number;
        const second = data[start + half + index] as number;
        data[start + index] = first * c - second * s;
        data[start + half + index] = second * c + first * s;
      }
    }
  }
}

/**
 * Rotates, in place, the first `heads` heads of each row of `data` [rows, width] by that row's position
 * (`positions` [rows]). Packed q/k/v rows rotate q and k heads together: heads = query + key heads.
 */
export function rotaryForward(options: {
  table: RotaryTable;
  data: Tensor;
  positions: Int32Array;
  heads: number;
}): void {
  rotate(options.table, options.data, options.positions, options.heads, 1);
}

/** Gradient of rotaryForward, in place: the rotation is orthogonal, so its gradient rotates back. */
export function rotaryBackward(options: {
  table: RotaryTable;
  gradient: Tensor;
  positions: Int32Array;
  heads: number;
}): void {
  rotate(options.table, options.gradient, options.positions, options.heads, -1);
}
