/**
 * The output head on target rows only: loss heads need logits just where a position has a target
 * (response tokens), so the final-normed rows with a target are gathered into a compact matrix, the
 * head matmul and the loss run on those, and the gradient is scattered back (zeros elsewhere). Same
 * per-row math as the full head, on fewer rows.
 */
import {
  type Blas,
  logSoftmaxGatherBackward,
  logSoftmaxGatherForward,
  maskedCrossEntropyBackward,
  maskedCrossEntropyForward,
  matmulBackward,
  matmulForward,
  ShapeError,
  type Tensor,
  viewTensor,
} from "../../engine/index.js";
import { type CompactRows, type RowPacking, scatterRows } from "./llama-packing.js";
import type { LlamaWorkspace } from "./llama-workspace.js";

/**
 * The loss heads on a workspace whose trunk has run (final-normed rows filled). Backward passes leave
 * dLoss/dFinalNormed in the workspace's normedGradient (zero on rows without a target) and add the
 * head weight's gradient.
 */
export interface TargetRowHead {
  /** Per-sequence mean NLL (nats) of the target rows and their counts, owned by the workspace. */
  sequenceLosses(options: { workspace: LlamaWorkspace; targets: Int32Array }): {
    losses: Float64Array;
    tokenCounts: Int32Array;
  };
  backwardSequenceLosses(options: { workspace: LlamaWorkspace; lossGradients: ArrayLike<number> }): void;
  /** log p(target) per batch row [rows], 0 where masked, owned by the workspace. */
  tokenLogProbabilities(options: { workspace: LlamaWorkspace; targets: Int32Array }): Float32Array;
  backwardTokenLogProbabilities(options: { workspace: LlamaWorkspace; logProbabilityGradients: Float32Array }): void;
}

/** The loss heads over `head` [vocabulary, d]; `headGradient` (default none: frozen) receives its gradient. */
export function createTargetRowHead(options: { blas: Blas; head: Tensor; headGradient?: Tensor }): TargetRowHead {
  const { blas, head, headGradient } = options;
  const [vocabularySize = 0, width = 0] = head.shape;
  let count = 0;
  // Logits of compact rows [from, to) at the start of the logits buffer; the loss ops overwrite them
  // with probabilities, then with their gradient.
  const logits = (w: LlamaWorkspace, from = 0, to = count): Tensor =>
    viewTensor({ data: w.logits.data, offset: from * vocabularySize, shape: [to - from, vocabularySize] });
  const input = (w: LlamaWorkspace): Tensor => viewTensor({ data: w.compactNormed, shape: [count, width] });
  const forward = (w: LlamaWorkspace, targets: Int32Array): void => {
    w.targets.set(targets);
    count = gatherTargetRows({
      normed: w.finalNormed,
      targets,
      batchSize: w.batchSize,
      packing: w.packing,
      compact: w.compactNormed,
      rows: w.compactRows,
    });
    if (count > 0) matmulForward({ blas, input: input(w), weight: head, output: logits(w) });
  };
  const backward = (w: LlamaWorkspace): void => {
    if (count > 0) {
      matmulBackward({
        blas,
        input: input(w),
        weight: head,
        outputGradient: logits(w),
        inputGradient: viewTensor({ data: w.normedGradient.data, shape: [count, width] }),
        ...(headGradient ? { weightGradient: headGradient } : {}),
      });
    }
    scatterRows({ gradient: w.normedGradient, rowIndices: w.compactRows.rowIndices, count });
  };
  const sequenceScratch = new Float64Array(1);
  return {
    sequenceLosses({ workspace: w, targets }) {
      forward(w, targets);
      const starts = w.compactRows.sequenceStarts;
      for (let sequence = 0; sequence < w.batchSize; sequence++) {
        const from = starts[sequence] as number;
        const to = starts[sequence + 1] as number;
        // One sequence at a time: the same sums, in the same order, as the op over the full batch.
        maskedCrossEntropyForward({
          logits: logits(w, from, to),
          targets: w.compactRows.targets.subarray(from, to),
          batchSize: 1,
          sequenceLosses: w.sequenceLosses.subarray(sequence, sequence + 1),
          tokenCounts: w.tokenCounts.subarray(sequence, sequence + 1),
        });
      }
      return { losses: w.sequenceLosses, tokenCounts: w.tokenCounts };
    },
    backwardSequenceLosses({ workspace: w, lossGradients }) {
      checkLength(lossGradients, w.batchSize, "sequence loss gradients");
      const starts = w.compactRows.sequenceStarts;
      for (let sequence = 0; sequence < w.batchSize; sequence++) {
        const from = starts[sequence] as number;
        const to = starts[sequence + 1] as number;
        sequenceScratch[0] = lossGradients[sequence] as number;
        const gradient = logits(w, from, to);
        maskedCrossEntropyBackward({
          probabilities: gradient,
          targets: w.compactRows.targets.subarray(from, to),
          batchSize: 1,
          tokenCounts: w.tokenCounts.subarray(sequence, sequence + 1),
          sequenceLossGradients: sequenceScratch,
          logitsGradient: gradient,
        });
      }
      backward(w);
    },
    tokenLogProbabilities({ workspace: w, targets }) {
      forward(w, targets);
      const values = w.compactValues.subarray(0, count);
      logSoftmaxGatherForward({ logits: logits(w), targets: w.compactRows.targets.subarray(0, count), output: values });
      const output = w.tokenLogProbabilities;
      output.fill(0);
      for (let index = 0; index < count; index++) {
        output[w.packing.paddedOf[w.compactRows.rowIndices[index] as number] as number] = values[index] as number;
      }
      return output;
    },
    backwardTokenLogProbabilities({ workspace: w, logProbabilityGradients }) {
      checkLength(logProbabilityGradients, w.rows, "log-probability gradients");
      const values = w.compactValues.subarray(0, count);
      for (let index = 0; index < count; index++) {
        const row = w.packing.paddedOf[w.compactRows.rowIndices[index] as number] as number;
        values[index] = logProbabilityGradients[row] as number;
      }
      const gradient = logits(w);
      logSoftmaxGatherBackward({
        probabilities: gradient,
        targets: w.compactRows.targets.subarray(0, count),
        outputGradient: values,
        logitsGradient: gradient,
      });
      backward(w);
    },
  };
}

/**
 * Copies the rows of `normed` [packed rows, width] whose batch row has a target (not negative) into the
 * first rows of `compact` (same width) and records them in `rows`; returns how many there are.
 */
export function gatherTargetRows(options: {
  normed: Tensor;
  targets: Int32Array;
  batchSize: number;
  packing: RowPacking;
  compact: Float32Array;
  rows: CompactRows;
}): number {
  const { normed, targets, batchSize, packing, compact, rows } = options;
  const width = normed.shape[1] ?? 0;
  const length = targets.length / batchSize;
  let count = 0;
  for (let sequence = 0; sequence < batchSize; sequence++) {
    rows.sequenceStarts[sequence] = count;
    for (let position = 0; position < length; position++) {
      const row = sequence * length + position;
      const target = targets[row] as number;
      if (target < 0) continue;
      const packed = packing.packedOf[row] as number;
      rows.rowIndices[count] = packed;
      rows.targets[count] = target;
      compact.set(normed.data.subarray(packed * width, (packed + 1) * width), count * width);
      count++;
    }
  }
  rows.sequenceStarts[batchSize] = count;
  return count;
}

function checkLength(values: ArrayLike<number>, expected: number, what: string): void {
  if (values.length !== expected) throw new ShapeError(`llama ${what}: ${values.length} values, expected ${expected}`);
}
