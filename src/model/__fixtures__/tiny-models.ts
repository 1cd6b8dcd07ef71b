/**
 * Tiny models the model tests build themselves: a trained byte-level BPE tokenizer, random weights,
 * and weights with clear margins (the greedy choice at every step wins by a wide logit gap, so two
 * correct implementations cannot disagree on it through rounding).
 */
import { createRandom } from "../../engine/index.js";
import type { CheckpointConfig } from "../checkpoint-config.js";
import { checkpointTensorSpecs, type ModelWeights } from "../checkpoint-tensors.js";
import { trainByteLevelBpe } from "../tokenizer/byte-level-bpe-trainer.js";
import { createTokenizer, type Tokenizer } from "../tokenizer/tokenizer.js";
import { TRAINING_TEXT } from "./sample-texts.js";

/** A 320-token byte-level BPE tokenizer trained on the sample text. */
export function testTokenizer(): Tokenizer {
  return createTokenizer(trainByteLevelBpe({ texts: Array.from({ length: 8 }, () => TRAINING_TEXT), vocabularySize: 320 }));
}

/** A small llama config; override any field. */
export function tinyConfig(overrides: Partial<CheckpointConfig> = {}): CheckpointConfig {
  return {
    family: "llama",
    hiddenSize: 64,
    layers: 2,
    heads: 4,
    kvHeads: 2,
    intermediateSize: 96,
    vocabularySize: 320,
    ropeTheta: 10000,
    rmsNormEpsilon: 1e-5,
    tieWordEmbeddings: false,
    queryKeyValueBias: false,
    maxPositions: 256,
    bosTokenId: 0,
    eosTokenIds: [0],
    ...overrides,
  };
}

/** Random weights: matrices normal(0, scale), norms 1 + normal(0, 0.1), biases normal(0, 0.1). */
export function randomWeights({ config, seed = 1, scale = 0.2 }: { config: CheckpointConfig; seed?: number; scale?: number }): ModelWeights {
  const random = createRandom({ seed });
  const weights: ModelWeights = new Map();
  for (const spec of checkpointTensorSpecs(config)) {
    const values = new Float32Array(spec.shape.reduce((product, dimension) => product * dimension, 1));
    for (let index = 0; index < values.length; index++) {
      const noise = random.nextNormal();
      values[index] = spec.kind === "matrix" ? noise * scale : spec.kind === "norm" ? 1 + noise * 0.1 : noise * 0.1;
    }
    weights.set(spec.name, values);
  }
  return weights;
}

/**
 * The next token of `token` in the clear-margin model: a fixed permutation of the ordinary tokens
 * (ids >= 3), so greedy text never reaches a special token.
 */
export function clearMarginSuccessor(token: number, vocabularySize: number): number {
  const ordinary = vocabularySize - 3;
  const index = Math.max(token - 3, 0);
  return 3 + ((index * 7 + 5) % ordinary);
}

/**
 * Random attention and MLP weights (scale 0.05) over unit-normal embeddings, with an untied head whose
 * row for `clearMarginSuccessor(t)` is embedding t scaled up: the successor's logit leads by tens of
 * nats while attention and MLP still shift every logit.
 */
export function clearMarginWeights({ config, seed = 3 }: { config: CheckpointConfig; seed?: number }): ModelWeights {
  if (config.tieWordEmbeddings) throw new RangeError("the clear-margin model needs an untied head");
  const weights = randomWeights({ config, seed, scale: 0.05 });
  const d = config.hiddenSize;
  const random = createRandom({ seed: seed + 1 });
  const embedding = weights.get("model.embed_tokens.weight") as Float32Array;
  for (let index = 0; index < embedding.length; index++) embedding[index] = random.nextNormal();
  const head = new Float32Array(config.vocabularySize * d);
  for (let token = 0; token < config.vocabularySize; token++) {
    const successor = clearMarginSuccessor(token, config.vocabularySize);
    for (let column = 0; column < d; column++) {
      head[successor * d + column] = (head[successor * d + column] as number) + (embedding[token * d + column] as number) * 0.5;
    }
  }
  weights.set("lm_head.weight", head);
  return weights;
}
