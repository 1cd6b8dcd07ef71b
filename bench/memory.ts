/**
 * Peak memory of one real training step at the SmolLM2-135M shape: forward, backward and an AdamW
 * update on one sequence of 512 tokens (30 layers, d 576, 9 heads, 3 key/value heads, ffn 1536,
 * vocabulary 49152, tied embeddings). Target: peak RSS under 4 GB.
 *
 * `npm run bench -- memory [--sequence 512] [--threads N]`. Prints the process's peak resident set
 * size (the kernel's high-water mark, so every transient buffer counts) and what the weights, the
 * gradients and the optimizer state alone take, for comparison.
 */
import { createBlas, describeEngine, formatEngineLine } from "../src/engine/index.js";
import { createLlamaModel, createLlamaTrainer, type LlamaConfig } from "../src/model/llama/index.js";

const SMOLLM2_135M: LlamaConfig = {
  hiddenSize: 576,
  layers: 30,
  heads: 9,
  kvHeads: 3,
  intermediateSize: 1536,
  vocabularySize: 49152,
  ropeTheta: 100000,
  rmsNormEpsilon: 1e-5,
  tieWordEmbeddings: true,
  maxPositions: 8192,
};

const TARGET_BYTES = 4 * 1024 ** 3;

function option(args: string[], name: string, fallback: number): number {
  const index = args.indexOf(`--${name}`);
  const value = index >= 0 ? Number(args[index + 1]) : fallback;
  if (!Number.isInteger(value) || value <= 0) throw new RangeError(`--${name} must be a positive integer`);
  return value;
}

const megabytes = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(0)} MB`;
/** process.resourceUsage().maxRSS is in kilobytes. */
const peakResidentBytes = () => process.resourceUsage().maxRSS * 1024;

export default async function memory(args: string[]): Promise<void> {
  const sequenceLength = option(args, "sequence", 512);
  const threads = option(args, "threads", 1);
  // Every training entry point names its BLAS first, with a warning when it makes training slow.
  process.stderr.write(`${formatEngineLine(describeEngine({ threads }))}\n`);
  const baseline = peakResidentBytes();
  const blas = createBlas({ threads });
  const model = createLlamaModel({ config: SMOLLM2_135M, blas, seed: 0 });
  const trainer = createLlamaTrainer({ model });
  const parameters = model.parameters.length;
  const afterModel = peakResidentBytes();

  const tokens = new Int32Array(sequenceLength);
  for (let index = 0; index < sequenceLength; index++)
    tokens[index] = (index * 7919 + 13) % SMOLLM2_135M.vocabularySize;
  const targets = new Int32Array(sequenceLength);
  targets.set(tokens.subarray(1));
  targets[sequenceLength - 1] = -1;
  const started = performance.now();
  const result = trainer.step({ tokens, targets, batchSize: 1, sequenceLength });
  const seconds = (performance.now() - started) / 1000;
  const peak = peakResidentBytes();

  const lines = [
    `SmolLM2-135M shape, one training step (forward + backward + AdamW), batch 1 x ${sequenceLength} tokens`,
    `blas: ${blas.description}`,
    `parameters: ${(parameters / 1e6).toFixed(1)} M; weights + gradients + AdamW moments = ${megabytes(parameters * 4 * 4)}`,
    `loss ${result.loss.toFixed(4)} (ln vocabulary = ${Math.log(SMOLLM2_135M.vocabularySize).toFixed(4)}), gradient norm ${result.gradientNorm.toFixed(3)}, ${seconds.toFixed(1)} s`,
    `peak RSS: at start ${megabytes(baseline)}, after building the model ${megabytes(afterModel)}, after the step ${megabytes(peak)}`,
    `target < ${megabytes(TARGET_BYTES)}: ${peak < TARGET_BYTES ? "met" : "NOT met"}`,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}
