/**
 * A low-rank adapter (LoRA) added to a linear layer's output: output[:, block] += scaling * B (A x),
 * with A ("down", [rank, in]) and B ("up", [out, rank]) stored as Hugging Face linear weights. The
 * adapter writes into a column block of a wider output (one of the packed q/k/v or gate/up
 * projections) through the BLAS leading dimension, without copying. Optional inverted dropout on the
 * adapter's input (PEFT applies dropout to x before A) uses a caller-filled scale per element.
 */
import type { Blas } from "../blas.js";
import { ShapeError } from "../engine-errors.js";
import { assertLength, assertShape, type Tensor } from "../tensor.js";

/** Inverted dropout on the adapter's input: `scale` [rows * in] holds 0 or 1 / (1 - p); `dropped` keeps x * scale. */
export interface AdapterDropout {
  scale: Float32Array;
  dropped: Tensor;
}

function blockOf(output: Tensor, column: number, width: number, what: string): { rows: number; stride: number } {
  const [rows = 0, stride = 0] = output.shape;
  if (output.shape.length !== 2 || column < 0 || column + width > stride) {
    throw new ShapeError(`${what}: columns [${column}, ${column + width}) outside [${output.shape.join(", ")}]`);
  }
  return { rows, stride };
}

/**
 * output[:, outputColumn .. outputColumn + out] += scaling * (drop(input) down^T) up^T. Saves
 * hidden = drop(input) down^T [rows, rank] for the backward pass. `outputColumn` defaults to 0;
 * `dropout` (default none) applies inverted dropout to the input first.
 */
export function lowRankAdapterForward(options: {
  blas: Blas;
  input: Tensor;
  down: Tensor;
  up: Tensor;
  scaling: number;
  hidden: Tensor;
  output: Tensor;
  outputColumn?: number;
  dropout?: AdapterDropout;
}): void {
  const { blas, input, down, up, scaling, hidden, output, outputColumn = 0, dropout } = options;
  const [rows = 0, inner = 0] = input.shape;
  const [rank = 0] = down.shape;
  const [outer = 0] = up.shape;
  assertShape(down, [rank, inner], "adapter down (lora_A)");
  assertShape(up, [outer, rank], "adapter up (lora_B)");
  assertShape(hidden, [rows, rank], "adapter hidden");
  const { stride } = blockOf(output, outputColumn, outer, "adapter output");
  assertShape(output, [rows, stride], "adapter output");
  let source = input.data;
  if (dropout !== undefined) {
    assertLength(dropout.scale, rows * inner, "adapter dropout scale");
    assertShape(dropout.dropped, [rows, inner], "adapter dropout input");
    const dropped = dropout.dropped.data;
    for (let index = 0; index < dropped.length; index++) {
      dropped[index] = (input.data[index] as number) * (dropout.scale[index] as number);
    }
    source = dropped;
  }
  blas.matrixMultiply({
    transposeB: true,
    m: rows,
    n: rank,
    k: inner,
    a: source,
    lda: inner,
    b: down.data,
    ldb: inner,
    c: hidden.data,
    ldc: rank,
  });
  blas.matrixMultiply({
    transposeB: true,
    m: rows,
    n: outer,
    k: rank,
    alpha: scaling,
    a: hidden.data,
    lda: rank,
    b: up.data,
    ldb: rank,
    beta: 1,
    c: output.data,
    cOffset: outputColumn,
    ldc: stride,
  });
}

/**
 * Gradients of lowRankAdapterForward, all accumulated: upGradient += scaling * dY^T hidden,
 * downGradient += dH^T drop(input) with dH = scaling * dY up, inputGradient += drop'(dH down).
 * dY is the block of `outputGradient` at `outputColumn`. `hiddenGradient` [rows, rank] is scratch;
 * with dropout, `inputScratch` [rows, in] is scratch too.
 */
export function lowRankAdapterBackward(options: {
  blas: Blas;
  input: Tensor;
  down: Tensor;
  up: Tensor;
  scaling: number;
  hidden: Tensor;
  outputGradient: Tensor;
  outputColumn?: number;
  downGradient: Tensor;
  upGradient: Tensor;
  inputGradient: Tensor;
  hiddenGradient: Tensor;
  dropout?: AdapterDropout;
  inputScratch?: Tensor;
}): void {
  const {
    blas,
    input,
    down,
    up,
    scaling,
    hidden,
    outputGradient,
    outputColumn = 0,
    downGradient,
    upGradient,
    inputGradient,
    hiddenGradient,
    dropout,
    inputScratch,
  } = options;
  const [rows = 0, inner = 0] = input.shape;
  const [rank = 0] = down.shape;
  const [outer = 0] = up.shape;
  assertShape(down, [rank, inner], "adapter down (lora_A)");
  assertShape(up, [outer, rank], "adapter up (lora_B)");
  assertShape(downGradient, [rank, inner], "adapter down gradient");
  assertShape(upGradient, [outer, rank], "adapter up gradient");
  assertShape(hidden, [rows, rank], "adapter hidden");
  assertShape(hiddenGradient, [rows, rank], "adapter hidden gradient");
  assertShape(inputGradient, [rows, inner], "adapter input gradient");
  const { stride } = blockOf(outputGradient, outputColumn, outer, "adapter output gradient");
  assertShape(outputGradient, [rows, stride], "adapter output gradient");
  blas.matrixMultiply({
    transposeA: true,
    m: outer,
    n: rank,
    k: rows,
    alpha: scaling,
    a: outputGradient.data,
    aOffset: outputColumn,
    lda: stride,
    b: hidden.data,
    ldb: rank,
    beta: 1,
    c: upGradient.data,
    ldc: rank,
  });
  blas.matrixMultiply({
    m: rows,
    n: rank,
    k: outer,
    alpha: scaling,
    a: outputGradient.data,
    aOffset: outputColumn,
    lda: stride,
    b: up.data,
    ldb: rank,
    c: hiddenGradient.data,
    ldc: rank,
  });
  blas.matrixMultiply({
    transposeA: true,
    m: rank,
    n: inner,
    k: rows,
    a: hiddenGradient.data,
    lda: rank,
    b: (dropout?.dropped ?? input).data,
    ldb: inner,
    beta: 1,
    c: downGradient.data,
    ldc: inner,
  });
  if (dropout === undefined) {
    blas.matrixMultiply({
      m: rows,
      n: inner,
      k: rank,
      a: hiddenGradient.data,
      lda: rank,
      b: down.data,
      ldb: inner,
      beta: 1,
      c: inputGradient.data,
      ldc: inner,
    });
    return;
  }
  if (inputScratch === undefined) throw new ShapeError("adapter backward with dropout needs inputScratch");
  assertShape(inputScratch, [rows, inner], "adapter input scratch");
  blas.matrixMultiply({
    m: rows,
    n: inner,
    k: rank,
    a: hiddenGradient.data,
    lda: rank,
    b: down.data,
    ldb: inner,
    c: inputScratch.data,
    ldc: inner,
  });
  const gradient = inputGradient.data;
  const scratch = inputScratch.data;
  for (let index = 0; index < gradient.length; index++) {
    gradient[index] = (gradient[index] as number) + (scratch[index] as number) * (dropout.scale[index] as number);
  }
}
