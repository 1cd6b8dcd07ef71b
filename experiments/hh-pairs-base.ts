/**
 * The hh-pairs experiment's base model, made from scratch on the training dialogues only: a byte-level
 * BPE tokenizer, then plain next-token pretraining (packed windows, AdamW, warmup + cosine) with the
 * model layer's trainer. Written as a Hugging Face model directory that `trainRun` starts from.
 */
import type { Blas } from "../src/engine/index.js";
import { createRandom, createTensorMemory } from "../src/engine/index.js";
import type { CheckpointConfig } from "../src/model/checkpoint-config.js";
import { createLlamaModel, createLlamaTrainer, type LlamaConfig, type LlamaModel } from "../src/model/llama/index.js";
import { trainByteLevelBpe } from "../src/model/tokenizer/byte-level-bpe-trainer.js";
import { createTokenizer, type Tokenizer } from "../src/model/tokenizer/tokenizer.js";
import { learningRateAt } from "../src/train/learning-rate-schedule.js";
import { writeModelDirectory } from "../src/train/training-run-files.js";

/** Shape and schedule of the base model. */
export interface BaseModelSettings {
  /** Tokenizer vocabulary (3 special + 256 bytes + merges). */
  vocabularySize: number;
  /** Decoder shape without the vocabulary (taken from the tokenizer). */
  shape: Omit<LlamaConfig, "vocabularySize">;
  /** Tokens per training window. */
  sequenceLength: number;
  /** Windows per optimizer step. */
  batchSize: number;
  /** Passes over the packed training tokens. */
  epochs: number;
  /** Peak learning rate. */
  learningRate: number;
  /** Share of steps warming up. */
  warmup: number;
  weightDecay: number;
  seed: number;
}

/** What pretraining measured. */
export interface BaseModelReport {
  parameters: number;
  vocabularySize: number;
  trainTokens: number;
  steps: number;
  /** Mean next-token loss (nats) of the first and last tenth of the steps. */
  firstLoss: number;
  lastLoss: number;
  /** Mean next-token loss (nats) over the held-out dialogues' windows. */
  heldOutLoss: number;
  seconds: number;
}

/** Every text's tokens (BOS where the tokenizer adds one), each followed by the end-of-text token, in one stream. */
function packTokens(tokenizer: Tokenizer, texts: readonly string[]): Int32Array {
  const stream: number[] = [];
  for (const text of texts) {
    for (const token of tokenizer.encode(text, { addSpecialTokens: true })) stream.push(token);
    if (tokenizer.eosTokenId !== undefined) stream.push(tokenizer.eosTokenId);
  }
  return Int32Array.from(stream);
}

/** Fills `tokens`/`targets` with window `window` of the stream (targets shifted by one). */
function fillWindow({
  stream,
  window,
  slot,
  sequenceLength,
  tokens,
  targets,
}: {
  stream: Int32Array;
  window: number;
  slot: number;
  sequenceLength: number;
  tokens: Int32Array;
  targets: Int32Array;
}): void {
  const start = window * sequenceLength;
  tokens.set(stream.subarray(start, start + sequenceLength), slot * sequenceLength);
  targets.set(stream.subarray(start + 1, start + sequenceLength + 1), slot * sequenceLength);
}

function meanLoss({
  model,
  stream,
  sequenceLength,
  batchSize,
}: {
  model: LlamaModel;
  stream: Int32Array;
  sequenceLength: number;
  batchSize: number;
}): number {
  const windows = Math.floor((stream.length - 1) / sequenceLength);
  const tokens = new Int32Array(batchSize * sequenceLength);
  const targets = new Int32Array(batchSize * sequenceLength);
  let sum = 0;
  let count = 0;
  for (let first = 0; first + batchSize <= windows; first += batchSize) {
    for (let slot = 0; slot < batchSize; slot += 1) {
      fillWindow({ stream, window: first + slot, slot, sequenceLength, tokens, targets });
    }
    const { losses, tokenCounts } = model.sequenceLosses({ tokens, targets, batchSize, sequenceLength });
    for (let slot = 0; slot < batchSize; slot += 1) {
      sum += (losses[slot] as number) * (tokenCounts[slot] as number);
      count += tokenCounts[slot] as number;
    }
  }
  return count === 0 ? Number.NaN : sum / count;
}

/**
 * Trains the tokenizer and the base model on `trainTexts`, measures the loss on `heldOutTexts`, and
 * writes the model directory. `onProgress` gets (step, totalSteps, loss) every step.
 */
export async function trainBaseModel({
  trainTexts,
  heldOutTexts,
  settings,
  directory,
  blas,
  onProgress,
}: {
  trainTexts: readonly string[];
  heldOutTexts: readonly string[];
  settings: BaseModelSettings;
  directory: string;
  blas: Blas;
  onProgress?: (step: number, totalSteps: number, loss: number) => void;
}): Promise<BaseModelReport> {
  const started = performance.now();
  const tokenizer = createTokenizer(trainByteLevelBpe({ texts: trainTexts, vocabularySize: settings.vocabularySize }));
  const config: CheckpointConfig = {
    ...settings.shape,
    vocabularySize: tokenizer.vocabularySize,
    family: "llama",
    queryKeyValueBias: false,
    bosTokenId: tokenizer.bosTokenId,
    eosTokenIds: [...tokenizer.endTokenIds],
  };
  const model = createLlamaModel({ config, blas, memory: createTensorMemory(), seed: settings.seed });
  const trainer = createLlamaTrainer({ model, learningRate: settings.learningRate, weightDecay: settings.weightDecay });
  const { sequenceLength, batchSize } = settings;
  const stream = packTokens(tokenizer, trainTexts);
  const windows = Math.floor((stream.length - 1) / sequenceLength);
  const stepsPerEpoch = Math.floor(windows / batchSize);
  const totalSteps = stepsPerEpoch * settings.epochs;
  const tokens = new Int32Array(batchSize * sequenceLength);
  const targets = new Int32Array(batchSize * sequenceLength);
  const losses: number[] = [];
  for (let epoch = 0; epoch < settings.epochs; epoch += 1) {
    const random = createRandom({ seed: settings.seed * 1000 + epoch });
    const order = Array.from({ length: windows }, (_, index) => index);
    for (let index = order.length - 1; index > 0; index -= 1) {
      const swap = random.nextInteger(index + 1);
      [order[index], order[swap]] = [order[swap] as number, order[index] as number];
    }
    for (let batch = 0; batch < stepsPerEpoch; batch += 1) {
      for (let slot = 0; slot < batchSize; slot += 1) {
        const window = order[batch * batchSize + slot] as number;
        fillWindow({ stream, window, slot, sequenceLength, tokens, targets });
      }
      const step = losses.length;
      const learningRate = learningRateAt({
        step,
        totalSteps,
        peak: settings.learningRate,
        warmup: settings.warmup,
      });
      const { loss } = trainer.step({ tokens, targets, batchSize, sequenceLength, learningRate });
      losses.push(loss);
      onProgress?.(step + 1, totalSteps, loss);
      // Let output through between steps.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  const tenth = Math.max(1, Math.floor(losses.length / 10));
  const average = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
  const heldOutLoss = meanLoss({ model, stream: packTokens(tokenizer, heldOutTexts), sequenceLength, batchSize });
  await writeModelDirectory({ directory, config, model, tokenizer });
  return {
    parameters: model.parameters.length,
    vocabularySize: tokenizer.vocabularySize,
    trainTokens: stream.length,
    steps: losses.length,
    firstLoss: average(losses.slice(0, tenth)),
    lastLoss: average(losses.slice(-tenth)),
    heldOutLoss,
    seconds: (performance.now() - started) / 1000,
  };
}
