/**
 * Writes the prepared batch file `scripts/torch-gpu-check.sh` trains on (no tokenizer, no network on the
 * GPU machine): 40 synthetic prompts with 3 rated responses of random Qwen2.5 token ids (256 distinct ones), through the
 * same encoder `train --backend torch` uses, as 10 steps of 4 micro-batches (3 x 512 tokens each), plus
 * the job's model config (Qwen2.5-0.5B's shape) and training settings.
 *
 *   npm run fixtures:gpu-check   (writes scripts/fixtures/torch-gpu-check-batches.bin and -job.json)
 *   npx tsx scripts/make-torch-gpu-check-batches.ts --out <dir>   (elsewhere; the tests compare)
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRandom } from "../src/engine/index.js";
import { encodeTorchBatches } from "../src/train/torch-batch-file.js";
import type { TrainingPrompt } from "../src/train/training-examples.js";
import { defaultTrainingSettings, type TrainingSettings } from "../src/train/training-settings.js";

const outFlag = process.argv.indexOf("--out");
const directory =
  outFlag >= 0 ? (process.argv[outFlag + 1] as string) : fileURLToPath(new URL("./fixtures/", import.meta.url));
/** Qwen2.5-0.5B's shape, as the TypeScript side normalises a config.json. */
const config = {
  family: "qwen2",
  hiddenSize: 896,
  layers: 24,
  heads: 14,
  kvHeads: 2,
  intermediateSize: 4864,
  vocabularySize: 151936,
  ropeTheta: 1_000_000,
  rmsNormEpsilon: 1e-6,
  tieWordEmbeddings: true,
  queryKeyValueBias: true,
  maxPositions: 32768,
};
const settings: TrainingSettings = {
  ...defaultTrainingSettings(),
  epochs: 1,
  gradientAccumulation: 4,
  maxLength: 512,
  evalSplit: 0,
  saveEvery: 5,
  // Large for a pretrained model, so that 10 steps move the loss far beyond bf16 noise.
  learningRate: 1e-3,
};
const random = createRandom({ seed: 20 });
// Token ids from 256 spread over the vocabulary: a model learns their frequencies within a few steps, so
// the 10-step loss falls steeply (from about ln 151936 towards ln 256) and a broken resume shows.
const alphabet = Array.from({ length: 256 }, (_, index) => 3 + index * 593);
const tokens = (count: number) => Array.from({ length: count }, () => alphabet[random.nextInteger(256)] as number);
const prompts: TrainingPrompt[] = Array.from({ length: 40 }, (_, index) => ({
  line: index + 1,
  sourceId: `gpu-check-${index}`,
  kind: "imitation",
  // 16 prompt tokens first, so a window of the first positions (the CPU dry run) still has targets.
  promptTokens: tokens(16),
  responses: [7, 3, 5].map((rating, response) => ({ tokens: tokens(496 - 8 * response), rating })),
}));
const { bytes, header } = encodeTorchBatches({ prompts, settings, maxLength: settings.maxLength });
writeFileSync(join(directory, "torch-gpu-check-batches.bin"), bytes);
writeFileSync(join(directory, "torch-gpu-check-job.json"), `${JSON.stringify({ config, settings }, null, 2)}\n`);
console.log(`${header.microBatches.length} micro-batches, ${header.totalSteps} steps, ${bytes.byteLength} bytes`);
