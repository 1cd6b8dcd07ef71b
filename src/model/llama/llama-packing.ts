/**
 * Packed rows for the loss heads. A prompt's responses share the prompt's positions (same tokens, no
 * targets), and positions after a sequence's last target change none of its losses (attention is
 * causal). So the row-wise work (norms, projections, MLP) runs once per shared prefix position and
 * once per live response position, and only attention sees the padded [batch, sequence] layout: the
 * packed q/k/v rows are expanded into it, and gradients of shared rows are summed back. Same math as
 * the padded batch, on fewer rows.
 */
import type { Tensor } from "../../engine/index.js";

/** How a [batchSize, sequenceLength] batch maps onto packed rows. */
export interface RowPacking {
  readonly batchSize: number;
  readonly sequenceLength: number;
  /** Leading positions every sequence shares (same token, no target): packed once, in sequence 0. */
  readonly prefixLength: number;
  /** Packed row count. */
  readonly rows: number;
  /** Packed row of each batch row [batchSize * sequenceLength]; -1 past a sequence's last target. */
  readonly packedOf: Int32Array;
  /** The batch row each packed row comes from (its first occurrence) [rows]. */
  readonly paddedOf: Int32Array;
  /**
   * Packed rows with a target, ascending (the loss heads'): the last layer needs no other row's
   * output. Absent for the identity packing (forward() returns every row's logits).
   */
  readonly targetRows?: Int32Array;
}

/** Where the compact rows came from: filled by the loss heads (llama-head.ts). */
export interface CompactRows {
  /** Packed row of each compact row [capacity]; the first `count` entries are valid, ascending. */
  readonly rowIndices: Int32Array;
  /** Target of each compact row [capacity] (never negative in the first `count`). */
  readonly targets: Int32Array;
  /** First compact row of each sequence, then the count [batchSize + 1]. */
  readonly sequenceStarts: Int32Array;
}

/**
 * The packing of a batch for the loss heads: the shared prefix is the longest run of leading positions
 * with the same token in every sequence and no target in any; a sequence then lives up to its last
 * target (at least the prefix).
 */
export function packRows(options: {
  tokens: Int32Array;
  targets: Int32Array;
  batchSize: number;
  sequenceLength: number;
}): RowPacking {
  const { tokens, targets, batchSize, sequenceLength } = options;
  let prefixLength = 0;
  for (; prefixLength < sequenceLength; prefixLength++) {
    const token = tokens[prefixLength];
    let shared = true;
    for (let sequence = 0; sequence < batchSize && shared; sequence++) {
      const row = sequence * sequenceLength + prefixLength;
      shared = tokens[row] === token && (targets[row] as number) < 0;
    }
    if (!shared) break;
  }
  const lengths = Array.from({ length: batchSize }, (_, sequence) => {
    let length = sequenceLength;
    while (length > prefixLength && (targets[sequence * sequenceLength + length - 1] as number) < 0) length--;
    return length;
  });
  const packedOf = new Int32Array(batchSize * sequenceLength).fill(-1);
  const paddedOf: number[] = [];
  for (let sequence = 0; sequence < batchSize; sequence++) {
    const first = sequence === 0 ? 0 : prefixLength;
    for (let position = 0; position < (lengths[sequence] as number); position++) {
      const row = sequence * sequenceLength + position;
      if (position < first) {
        packedOf[row] = position;
      } else {
        packedOf[row] = paddedOf.length;
        paddedOf.push(row);
      }
    }
  }
  const targetRows = paddedOf.filter((row) => (targets[row] as number) >= 0);
  return {
    batchSize,
    sequenceLength,
    prefixLength,
    rows: paddedOf.length,
    packedOf,
    paddedOf: Int32Array.from(paddedOf),
    targetRows: Int32Array.from(targetRows, (row) => packedOf[row] as number),
  };
}

/** The identity packing: every batch row packed, nothing shared (forward() and its logits). */
export function unpackedRows(options: { batchSize: number; sequenceLength: number }): RowPacking {
  const { batchSize, sequenceLength } = options;
  const identity = Int32Array.from({ length: batchSize * sequenceLength }, (_, row) => row);
  return { batchSize, sequenceLength, prefixLength: 0, rows: identity.length, packedOf: identity, paddedOf: identity };
}

/** True when the packing maps every batch row to itself (nothing to move). */
export function isIdentityPacking(packing: RowPacking): boolean {
  return packing.rows === packing.packedOf.length;
}

/**
 * In place: the first `packing.rows` rows of `data` [batch rows, width] (packed) become the batch
 * layout, shared rows copied into every sequence, rows past a sequence's end zeroed.
 */
export function expandPackedRows(options: { data: Tensor; packing: RowPacking }): void {
  const { data: tensor, packing } = options;
  if (isIdentityPacking(packing)) return;
  const width = tensor.shape[1] ?? 0;
  const data = tensor.data;
  // A batch row never precedes its packed row: going from the last row down reads nothing overwritten.
  for (let row = packing.packedOf.length - 1; row >= 0; row--) {
    const packed = packing.packedOf[row] as number;
    if (packed < 0) data.fill(0, row * width, (row + 1) * width);
    else if (packed !== row) data.copyWithin(row * width, packed * width, (packed + 1) * width);
  }
}

/**
 * In place: the batch layout in `data` [batch rows, width] becomes packed rows (the first
 * `packing.rows`). With `sumShared` (default false) a shared row is the sum over every sequence (a
 * gradient); without, its first occurrence (an activation).
 */
export function packRowsInPlace(options: { data: Tensor; packing: RowPacking; sumShared?: boolean }): void {
  const { data: tensor, packing, sumShared = false } = options;
  if (isIdentityPacking(packing)) return;
  const width = tensor.shape[1] ?? 0;
  const data = tensor.data;
  const { batchSize, sequenceLength, prefixLength } = packing;
  // A packed row never follows its batch rows: going up from the first row overwrites nothing unread.
  for (let packed = 0; packed < packing.rows; packed++) {
    const row = packing.paddedOf[packed] as number;
    if (row !== packed) data.copyWithin(packed * width, row * width, (row + 1) * width);
    if (!sumShared || row >= prefixLength) continue;
    const start = packed * width;
    for (let sequence = 1; sequence < batchSize; sequence++) {
      const other = (sequence * sequenceLength + row) * width;
      for (let column = 0; column < width; column++) {
        data[start + column] = (data[start + column] as number) + (data[other + column] as number);
      }
    }
  }
}

/**
 * Spreads the first `count` rows of `gradient` [rows, width] (compact, in `rowIndices` order) to their
 * batch rows in place and zeroes every other row.
 */
export function scatterRows(options: { gradient: Tensor; rowIndices: Int32Array; count: number }): void {
  const { gradient, rowIndices, count } = options;
  const [rows = 0, width = 0] = gradient.shape;
  const data = gradient.data;
  // Batch rows never precede their compact rows, so moving the last first overwrites nothing unread.
  let end = rows;
  for (let index = count - 1; index >= 0; index--) {
    const row = rowIndices[index] as number;
    data.fill(0, (row + 1) * width, end * width);
    if (row !== index) data.copyWithin(row * width, index * width, (index + 1) * width);
    end = row;
  }
  data.fill(0, 0, end * width);
}

/** In place: rows `rowIndices[0..count)` (ascending) of `data` [rows, width] become its first `count` rows. */
export function gatherRowsInPlace(options: { data: Tensor; rowIndices: Int32Array; count: number }): void {
  const { data: tensor, rowIndices, count } = options;
  const width = tensor.shape[1] ?? 0;
  for (let index = 0; index < count; index++) {
    const row = rowIndices[index] as number;
    if (row !== index) tensor.data.copyWithin(index * width, row * width, (row + 1) * width);
  }
}
