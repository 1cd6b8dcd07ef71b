/**
 * `npm run bench -- train-scale [--steps N] [--sequence 512] [--threads N]`
 *
 * Whether training speed holds up past 4 GiB of tensors: full fine-tune steps (forward, backward,
 * clipping, AdamW; batch 1 x 512 tokens, random weights) of the `30m` preset and of the
 * Qwen2.5-0.5B shape (about 8 GB of weights, gradients and moments, so several WebAssembly memories)
 * in the same run. For each it takes the median of `steps` timed steps after one untimed step and
 * prints tokens/s x parameters; the ratio 0.5B / 30m is the result (target >= 0.8: no slow path past
 * 4 GiB). One JSON line on stdout; the first line on stderr names the BLAS and the kernels.
 */
import { createBlas, createTensorMemory, describeEngine, formatEngineLine } from "../src/engine/index.js";
import { createLlamaModel, type LlamaConfig, llamaPresets } from "../src/model/llama/index.js";
import { modelShape, timeTrainingSteps } from "./support/model-shapes.js";

function option(args: string[], name: string, fallback: number): number {
  const index = args.indexOf(`--${name}`);
  const value = index >= 0 ? Number(args[index + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`--${name} must be a positive integer`);
  return value;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function measure(options: {
  name: string;
  config: LlamaConfig;
  steps: number;
  sequenceLength: number;
  threads: number;
}) {
  const { name, config, steps, sequenceLength, threads } = options;
  const memory = createTensorMemory();
  const model = createLlamaModel({ config, blas: createBlas({ threads }), memory, seed: 0 });
  const parameters = model.parameters.length;
  const { seconds, loss } = timeTrainingSteps({ model, sequenceLength, steps: steps + 1 });
  const stepSeconds = median(seconds.slice(1));
  const tokensPerSecond = sequenceLength / stepSeconds;
  return {
    name,
    parameters,
    tensorMemory: memory.description,
    stepSeconds: Number(stepSeconds.toFixed(3)),
    tokensPerSecond: Number(tokensPerSecond.toFixed(2)),
    tokensPerSecondTimesParameters: tokensPerSecond * parameters,
    loss: Number(loss.toFixed(4)),
  };
}

export default async function trainScale(args: string[]): Promise<void> {
  const steps = option(args, "steps", 2);
  const sequenceLength = option(args, "sequence", 512);
  const threads = option(args, "threads", 1);
  process.stderr.write(`${formatEngineLine(describeEngine({ threads }))}\n`);
  const small = measure({ name: "30m", config: llamaPresets["30m"], steps, sequenceLength, threads });
  const large = measure({ name: "qwen2.5-0.5b", config: modelShape("qwen2.5-0.5b"), steps, sequenceLength, threads });
  const ratio = large.tokensPerSecondTimesParameters / small.tokensPerSecondTimesParameters;
  process.stdout.write(
    `${JSON.stringify({ sequenceLength, threads, small, large, ratio: Number(ratio.toFixed(3)), target: 0.8, met: ratio >= 0.8 })}\n`,
  );
}
