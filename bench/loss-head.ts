/**
 * `npm run bench -- loss-head [--shape qwen2.5-0.5b] [--sequence 512] [--chunk 8192] [--threads N]`
 *
 * The output head with masked cross-entropy, forward and backward, at a shape's hidden size and
 * vocabulary (random hidden states and head weights, one sequence): full logits (matmul +
 * maskedCrossEntropy, rows x vocabulary floats held) against the vocabulary-chunked op (rows x chunk
 * floats of scratch) in the same run. Prints one JSON line: seconds and buffer bytes of each, the
 * loss difference (must be below 1e-4 nats, else the bench stops), and chunked / full time.
 */
import {
  chunkedCrossEntropyBackward,
  chunkedCrossEntropyForward,
  createBlas,
  createTensor,
  createTensorMemory,
  describeEngine,
  formatEngineLine,
  maskedCrossEntropyBackward,
  maskedCrossEntropyForward,
  matmulBackward,
  matmulForward,
} from "../src/engine/index.js";
import { pseudoRandom } from "../src/engine/testing/gradient-check.js";
import { benchSequence, modelShape } from "./support/model-shapes.js";

function option(args: string[], name: string, fallback: number): number {
  const index = args.indexOf(`--${name}`);
  const value = index >= 0 ? Number(args[index + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`--${name} must be a positive integer`);
  return value;
}

export default async function lossHead(args: string[]): Promise<void> {
  const index = args.indexOf("--shape");
  const config = modelShape(index >= 0 ? (args[index + 1] ?? "") : "qwen2.5-0.5b");
  const rows = option(args, "sequence", 512);
  const chunkSize = option(args, "chunk", 8192);
  const threads = option(args, "threads", 1);
  process.stderr.write(`${formatEngineLine(describeEngine({ threads }))}\n`);
  const blas = createBlas({ threads });
  const memory = createTensorMemory();
  const { hiddenSize: dimension, vocabularySize } = config;
  const hidden = createTensor({ shape: [rows, dimension], memory });
  hidden.data.set(pseudoRandom(rows * dimension, 1, 1));
  const weight = createTensor({ shape: [vocabularySize, dimension], memory });
  weight.data.set(pseudoRandom(vocabularySize * dimension, 2, 0.05));
  const { targets } = benchSequence({ length: rows, vocabularySize });
  const lossGradients = [1];
  const hiddenGradient = createTensor({ shape: [rows, dimension], memory });
  const weightGradient = createTensor({ shape: [vocabularySize, dimension], memory });

  let started = performance.now();
  const logits = createTensor({ shape: [rows, vocabularySize], memory });
  const fullLosses = new Float64Array(1);
  const tokenCounts = new Int32Array(1);
  matmulForward({ blas, input: hidden, weight, output: logits });
  maskedCrossEntropyForward({ logits, targets, batchSize: 1, sequenceLosses: fullLosses, tokenCounts });
  maskedCrossEntropyBackward({
    probabilities: logits,
    targets,
    batchSize: 1,
    tokenCounts,
    sequenceLossGradients: lossGradients,
    logitsGradient: logits,
  });
  matmulBackward({
    blas,
    input: hidden,
    weight,
    outputGradient: logits,
    inputGradient: hiddenGradient,
    weightGradient,
  });
  const fullSeconds = (performance.now() - started) / 1000;
  memory.release(logits.data);

  started = performance.now();
  const scratch = memory.allocate(rows * Math.min(chunkSize, vocabularySize));
  const state = { blas, hidden, weight, targets, batchSize: 1, scratch, chunkSize, logSumExp: new Float64Array(rows) };
  const chunkedLosses = new Float64Array(1);
  chunkedCrossEntropyForward(state, { sequenceLosses: chunkedLosses, tokenCounts });
  chunkedCrossEntropyBackward(state, {
    tokenCounts,
    sequenceLossGradients: lossGradients,
    hiddenGradient,
    weightGradient,
  });
  const chunkedSeconds = (performance.now() - started) / 1000;

  const difference = Math.abs((fullLosses[0] as number) - (chunkedLosses[0] as number));
  if (!(difference < 1e-4)) {
    throw new Error(`full and chunked losses differ: ${fullLosses[0]} vs ${chunkedLosses[0]}`);
  }
  const result = {
    rows,
    dimension,
    vocabularySize,
    chunkSize,
    full: { seconds: Number(fullSeconds.toFixed(3)), logitsBytes: rows * vocabularySize * 4 },
    chunked: { seconds: Number(chunkedSeconds.toFixed(3)), scratchBytes: scratch.byteLength },
    loss: Number((fullLosses[0] as number).toFixed(5)),
    lossDifference: difference,
    chunkedOverFullTime: Number((chunkedSeconds / fullSeconds).toFixed(3)),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
