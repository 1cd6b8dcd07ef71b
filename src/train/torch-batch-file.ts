/**
 * The prepared batches of a `train --backend torch` run as one binary file in the run directory: the
 * TypeScript side does everything up to the tensors (tokenizing, masking, truncation, sampling of
 * `numComp` responses, order, split), the Python trainer only reads this file.
 *
 * Layout (all little-endian):
 *   bytes 0-7    "SABATCH1"
 *   bytes 8-11   header length H (uint32)
 *   12..12+H     header: UTF-8 JSON `{ version: 1, totalSteps, gradientAccumulation, microBatches }`
 *   then         zero padding to a multiple of 8 bytes, then the data region
 * `microBatches[i]` = `{ step, position, prompt, responses, batchSize, sequenceLength, offset, tokens }`
 * (step from 0; prompt: index into the training prompts; responses: the prompt's response indices in
 * the batch; tokens: real sequence tokens, for tokens/s). At `offset` in the data region: token ids
 * int32[batchSize * sequenceLength], targets int32[same] (-1 masked), ratings float64[batchSize].
 * A micro-batch the trainer skips before any forward pass has `skip` (the reason) and no data; with
 * LoRA dropout, `dropoutSeed` seeds the masks of a training entry's pass.
 * `heldOut[i]`: one held-out prompt with all its responses (step -1), and `objectiveResponses`, the
 * rows the objective reads (as the engine's evaluation picks them).
 */
import { deriveSeed } from "../engine/index.js";
import { writeFileAtomically } from "../model/atomic-writer.js";
import { promptBatch } from "./prompt-batch.js";
import type { TrainingPrompt } from "./training-examples.js";
import { batchResponses, totalStepsOf, trainingOrder } from "./training-loop.js";
import type { TrainingSettings } from "./training-settings.js";

/** The file's first bytes. */
export const TORCH_BATCH_MAGIC = "SABATCH1";

/** One micro-batch's header entry. */
export interface TorchMicroBatch {
  step: number;
  position: number;
  prompt: number;
  responses: number[];
  batchSize: number;
  sequenceLength: number;
  offset: number;
  tokens: number;
  skip?: string;
  /**
   * Training entries with LoRA dropout: the seed of this pass's dropout masks, derived from the run
   * seed and the position as the engine derives it (the trainer draws the masks with torch's
   * generator, so they differ from the engine's).
   */
  dropoutSeed?: number;
  /** Held-out entries: rows of the batch the objective reads. */
  objectiveResponses?: number[];
}

/** The header of a batch file. */
export interface TorchBatchHeader {
  version: 1;
  totalSteps: number;
  gradientAccumulation: number;
  microBatches: TorchMicroBatch[];
  heldOut: TorchMicroBatch[];
}

/** Encodes the whole run's micro-batches (in training order) as the batch file's bytes. */
export function encodeTorchBatches({
  prompts,
  heldOut = [],
  settings,
  maxLength,
}: {
  prompts: readonly TrainingPrompt[];
  /** Held-out prompts, evaluated as the engine does. Default none. */
  heldOut?: readonly TrainingPrompt[];
  settings: TrainingSettings;
  /** Tokens per sequence (the settings' maxLength capped at the model's context). */
  maxLength: number;
}): { bytes: Buffer; header: TorchBatchHeader } {
  const order = trainingOrder({ prompts, settings });
  const totalSteps = totalStepsOf({ microBatches: order.length, settings });
  const microBatches: TorchMicroBatch[] = [];
  const chunks: Buffer[] = [];
  let offset = 0;
  // Appends one batch's tensors to the data region; returns its sizes.
  const encode = (prompt: TrainingPrompt, responses: number[]) => {
    const batch = promptBatch({ prompt, responses, maxLength });
    const ratings = new Float64Array(responses.map((index) => prompt.responses[index]?.rating as number));
    const tokens = responses.reduce(
      (sum, index) =>
        sum + Math.min(maxLength, prompt.promptTokens.length + (prompt.responses[index]?.tokens.length ?? 0)),
      0,
    );
    for (const part of [batch.tokens, batch.targets, ratings]) {
      const chunk = Buffer.from(part.buffer, part.byteOffset, part.byteLength);
      chunks.push(chunk);
      offset += chunk.byteLength;
    }
    return { batchSize: batch.batchSize, sequenceLength: batch.sequenceLength, tokens };
  };
  for (const [position, promptIndex] of order.entries()) {
    const prompt = prompts[promptIndex] as TrainingPrompt;
    const step = Math.floor(position / settings.gradientAccumulation);
    const responses = batchResponses({ prompt, settings, position });
    const base = { step, position, prompt: promptIndex, responses, offset, tokens: 0 };
    if (settings.loss !== "stable-alignment" && settings.loss !== "sft" && responses.length < 2) {
      const skip = prompt.responses.length < 2 ? "single response" : "ratings all tie";
      microBatches.push({ ...base, batchSize: 0, sequenceLength: 0, skip });
      continue;
    }
    const dropout =
      settings.lora !== undefined && settings.lora.dropout > 0
        ? { dropoutSeed: deriveSeed(settings.seed, "dropout", position) }
        : {};
    microBatches.push({ ...base, ...encode(prompt, responses), ...dropout });
  }
  const heldOutEntries = heldOut.map((prompt, promptIndex): TorchMicroBatch => {
    const all = prompt.responses.map((_, index) => index);
    const objectiveResponses = batchResponses({ prompt, settings, position: -1 - promptIndex });
    return {
      step: -1,
      position: -1 - promptIndex,
      prompt: promptIndex,
      responses: all,
      objectiveResponses,
      offset,
      ...encode(prompt, all),
    };
  });
  const header: TorchBatchHeader = {
    version: 1,
    totalSteps,
    gradientAccumulation: settings.gradientAccumulation,
    microBatches,
    heldOut: heldOutEntries,
  };
  const json = Buffer.from(JSON.stringify(header), "utf8");
  const prefix = Buffer.alloc(12);
  prefix.write(TORCH_BATCH_MAGIC, 0, "latin1");
  prefix.writeUInt32LE(json.byteLength, 8);
  const padding = Buffer.alloc((8 - ((12 + json.byteLength) % 8)) % 8);
  return { bytes: Buffer.concat([prefix, json, padding, ...chunks]), header };
}

/** Writes the batch file atomically at `path`; returns its header. */
export function writeTorchBatchFile(options: {
  path: string;
  prompts: readonly TrainingPrompt[];
  heldOut?: readonly TrainingPrompt[];
  settings: TrainingSettings;
  maxLength: number;
}): TorchBatchHeader {
  const { bytes, header } = encodeTorchBatches(options);
  writeFileAtomically({ path: options.path, data: bytes });
  return header;
}
