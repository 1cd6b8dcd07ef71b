/**
 * Peak memory of one real training step (forward, backward and an AdamW update) on one sequence of
 * 512 tokens with random weights, at the shape `--shape` (default smollm2-135m; or qwen2.5-0.5b), as a
 * full fine-tune or, with `--lora-rank r`, LoRA rank r (alpha 2r) on all seven projections.
 * Targets: SmolLM2-135M full < 4 GB; Qwen2.5-0.5B LoRA rank 16 < 5 GB, full < 12 GB.
 *
 * `npm run bench -- memory [--shape NAME] [--lora-rank R] [--sequence 512] [--threads N]`. Prints the
 * process's peak resident set size (the kernel's high-water mark, so every transient buffer counts),
 * what the weights and the trained state alone take, and the tensor memory the model used.
 */
import { createBlas, createTensorMemory, describeEngine, formatEngineLine } from "../src/engine/index.js";
import { createLlamaModel, LORA_TARGETS } from "../src/model/llama/index.js";
import { modelShape, timeTrainingSteps } from "./support/model-shapes.js";

const gigabyte = 1024 ** 3;

function option(args: string[], name: string, fallback: number, minimum = 1): number {
  const index = args.indexOf(`--${name}`);
  const value = index >= 0 ? Number(args[index + 1]) : fallback;
  if (!Number.isInteger(value) || value < minimum) throw new RangeError(`--${name} must be an integer >= ${minimum}`);
  return value;
}

function textOption(args: string[], name: string, fallback: string): string {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? (args[index + 1] ?? "") : fallback;
}

const megabytes = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(0)} MB`;
/** process.resourceUsage().maxRSS is in kilobytes. */
const peakResidentBytes = () => process.resourceUsage().maxRSS * 1024;

/** The peak-RSS target of a shape and mode, in bytes. */
function targetBytes(shape: string, loraRank: number): number {
  if (shape === "qwen2.5-0.5b") return (loraRank > 0 ? 5 : 12) * gigabyte;
  return 4 * gigabyte;
}

export default async function memory(args: string[]): Promise<void> {
  const shapeName = textOption(args, "shape", "smollm2-135m");
  const config = modelShape(shapeName);
  const loraRank = option(args, "lora-rank", 0, 0);
  const sequenceLength = option(args, "sequence", 512);
  const threads = option(args, "threads", 1);
  // Every training entry point names its BLAS and kernels first, with a warning when training is slow.
  process.stderr.write(`${formatEngineLine(describeEngine({ threads }))}\n`);
  const baseline = peakResidentBytes();
  const blas = createBlas({ threads });
  const tensorMemory = createTensorMemory();
  const lora = loraRank > 0 ? { rank: loraRank, alpha: 2 * loraRank, dropout: 0, targets: LORA_TARGETS } : undefined;
  const model = createLlamaModel({ config, blas, memory: tensorMemory, seed: 0, ...(lora ? { lora } : {}) });
  const parameters = model.parameters.length;
  const trained = model.trainable.parameters.length;
  const afterModel = peakResidentBytes();
  const { seconds, loss, gradientNorm } = timeTrainingSteps({ model, sequenceLength, steps: 1 });
  const peak = peakResidentBytes();
  const target = targetBytes(shapeName, loraRank);

  const mode = lora === undefined ? "full fine-tune" : `LoRA rank ${loraRank} on ${LORA_TARGETS.join(",")}`;
  const lines = [
    `${shapeName} shape, ${mode}, one training step (forward + backward + AdamW), batch 1 x ${sequenceLength} tokens`,
    `blas: ${blas.description}`,
    `tensor memory: ${tensorMemory.description}`,
    `parameters: ${(parameters / 1e6).toFixed(1)} M (weights ${megabytes(parameters * 4)}); trained ${(trained / 1e6).toFixed(2)} M, their gradients + AdamW moments ${megabytes(trained * 4 * 3)}`,
    `loss ${loss.toFixed(4)} (ln vocabulary = ${Math.log(config.vocabularySize).toFixed(4)}), gradient norm ${gradientNorm.toFixed(3)}, ${(seconds[0] ?? 0).toFixed(1)} s`,
    `peak RSS: at start ${megabytes(baseline)}, after building the model ${megabytes(afterModel)}, after the step ${megabytes(peak)}`,
    `target < ${megabytes(target)}: ${peak < target ? "met" : "NOT met"}`,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}
