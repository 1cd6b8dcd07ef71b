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

/**
 * A SentencePiece-style BPE tokenizer in the layout Llama 2's tokenizer.json has: `▁` for spaces
 * (prepended, no pre-tokenizer), byte-fallback tokens <0x00>..<0xFF>, `<unk>`, `<s>`, `</s>`, and
 * merges learned within `▁`-started words of the sample text. Characters outside Latin fall back to bytes.
 */
export function sentencePieceStyleTokenizer({ merges: mergeCount = 120 }: { merges?: number } = {}): Tokenizer {
  const text = `\u2581${TRAINING_TEXT.replaceAll(" ", "\u2581")}`;
  const alphabet = [...new Set(text)].filter((character) => {
    const code = character.codePointAt(0) as number;
    return character === "\u2581" || (code > 0x20 && code < 0x250);
  });
  const vocabulary = ["<unk>", "<s>", "</s>"];
  for (let byte = 0; byte < 256; byte++) vocabulary.push(`<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`);
  vocabulary.push(...alphabet.sort());
  const known = new Set(vocabulary);
  let words = text
    .split(/(?=\u2581)/u)
    .map((word) => [...word].map((character) => (known.has(character) ? character : "")).filter((part) => part !== ""));
  const merges: string[] = [];
  while (merges.length < mergeCount) {
    const counts = new Map<string, number>();
    for (const symbols of words) {
      for (let index = 0; index + 1 < symbols.length; index++) {
        const key = `${symbols[index]} ${symbols[index + 1]}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    }
    const best = [...counts].sort((first, second) => second[1] - first[1] || (first[0] < second[0] ? -1 : 1))[0];
    if (!best || best[1] < 2) break;
    const [left, right] = best[0].split(" ") as [string, string];
    merges.push(best[0]);
    if (!known.has(left + right)) {
      known.add(left + right);
      vocabulary.push(left + right);
    }
    words = words.map((symbols) => {
      const merged: string[] = [];
      for (let index = 0; index < symbols.length; index++) {
        if (symbols[index] === left && symbols[index + 1] === right) {
          merged.push(left + right);
          index++;
        } else merged.push(symbols[index] as string);
      }
      return merged;
    });
  }
  const special = (id: number, content: string) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  return createTokenizer({
    tokenizerJson: {
      version: "1.0",
      added_tokens: [special(0, "<unk>"), special(1, "<s>"), special(2, "</s>")],
      normalizer: {
        type: "Sequence",
        normalizers: [
          { type: "Prepend", prepend: "\u2581" },
          { type: "Replace", pattern: { String: " " }, content: "\u2581" },
        ],
      },
      pre_tokenizer: null,
      post_processor: {
        type: "TemplateProcessing",
        single: [
          { SpecialToken: { id: "<s>", type_id: 0 } },
          { Sequence: { id: "A", type_id: 0 } },
        ],
        pair: [
          { SpecialToken: { id: "<s>", type_id: 0 } },
          { Sequence: { id: "A", type_id: 0 } },
          { Sequence: { id: "B", type_id: 1 } },
        ],
        special_tokens: { "<s>": { id: "<s>", ids: [1], tokens: ["<s>"] } },
      },
      decoder: {
        type: "Sequence",
        decoders: [
          { type: "Replace", pattern: { String: "\u2581" }, content: " " },
          { type: "ByteFallback" },
          { type: "Fuse" },
          { type: "Strip", content: " ", start: 1, stop: 0 },
        ],
      },
      model: {
        type: "BPE",
        dropout: null,
        unk_token: "<unk>",
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: true,
        byte_fallback: true,
        ignore_merges: false,
        vocab: Object.fromEntries(vocabulary.map((token, id) => [token, id])),
        merges,
      },
    },
    tokenizerConfig: {
      add_bos_token: true,
      add_eos_token: false,
      bos_token: "<s>",
      eos_token: "</s>",
      unk_token: "<unk>",
      clean_up_tokenization_spaces: false,
      legacy: false,
    },
  });
}
