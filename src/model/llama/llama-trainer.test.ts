import { describe, expect, it } from "vitest";
import { createTestBlas } from "../../engine/testing/backends.js";
import { llamaPresets } from "./llama-config.js";
import type { LoraSettings } from "./llama-lora.js";
import { createLlamaModel } from "./llama-model.js";
import { createLlamaTrainer } from "./llama-trainer.js";

const text =
  "the cat sat on the mat. the dog sat on the log. a bird sang in the tree and the cat looked up. " +
  "the dog ran to the tree, the bird flew away, and the cat went back to the mat to sleep. ";

/** Trains the tiny model on byte tokens of `text`, batches drawn in a fixed order; returns every loss. */
function train(steps: number, seed: number, lora?: LoraSettings): number[] {
  const bytes = Int32Array.from(Buffer.from(text.repeat(4), "utf8"));
  const batchSize = 4;
  const sequenceLength = 32;
  const model = createLlamaModel({
    config: llamaPresets.tiny,
    blas: createTestBlas(),
    seed,
    ...(lora === undefined ? {} : { lora }),
  });
  const trainer = createLlamaTrainer({ model, learningRate: 3e-3, weightDecay: 0.01 });
  const tokens = new Int32Array(batchSize * sequenceLength);
  const targets = new Int32Array(batchSize * sequenceLength);
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    for (let sequence = 0; sequence < batchSize; sequence++) {
      const start = ((step * batchSize + sequence) * 37) % (bytes.length - sequenceLength - 1);
      for (let position = 0; position < sequenceLength; position++) {
        tokens[sequence * sequenceLength + position] = bytes[start + position] as number;
        targets[sequence * sequenceLength + position] = bytes[start + position + 1] as number;
      }
    }
    losses.push(trainer.step({ tokens, targets, batchSize, sequenceLength }).loss);
  }
  return losses;
}

describe("createLlamaTrainer", () => {
  it("drives the tiny model's loss down on a fixed text, bit for bit the same on a second run", () => {
    const first = train(200, 3);
    const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
    const start = mean(first.slice(0, 5));
    const end = mean(first.slice(-10));
    expect(start).toBeGreaterThan(4.5); // ln(256) = 5.55 at initialisation, falling fast
    expect(end).toBeLessThan(1.5);
    expect(train(200, 3)).toEqual(first);
    expect(train(3, 4)).not.toEqual(first.slice(0, 3));
  });

  it("trains only the adapters of a LoRA model (AdamW state sized to them) and lowers the loss", () => {
    const losses = train(30, 3, { rank: 4, alpha: 16, dropout: 0, targets: ["q", "v", "up", "down"] });
    const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
    expect(mean(losses.slice(-5))).toBeLessThan(mean(losses.slice(0, 5)) - 0.05);
  });
});
