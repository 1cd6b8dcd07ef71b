/**
 * Exports a llama-family checkpoint to GGUF for llama.cpp (and so Ollama and LM Studio), the way
 * llama.cpp's own converter does: Llama, SmolLM and Mistral as the `llama` architecture with the
 * q/k rows permuted for its rotary pairing, Qwen2 as `qwen2` (whose rotary pairing matches Hugging
 * Face's, so nothing is permuted); f32, or f16 for matrices with norms and biases kept f32.
 */
import type { CheckpointConfig } from "../checkpoint-config.js";
import { headDimensionOf } from "../checkpoint-config.js";
import { checkpointTensorSpecs, type ModelWeights } from "../checkpoint-tensors.js";
import type { Tokenizer } from "../tokenizer/tokenizer.js";
import { type GgufPreTokenizer, ggufTokenizerMetadata } from "./gguf-tokenizer-metadata.js";
import {
  type GgufContents,
  type GgufMetadataValue,
  type GgufTensor,
  type GgufTensorType,
  metadataValue,
  writeGgufFile,
} from "./gguf-writer.js";

/** Options of {@link buildGgufModel} and {@link exportGguf}. */
export interface GgufExportOptions {
  config: CheckpointConfig;
  weights: ModelWeights;
  /** Written as the vocabulary; required by llama.cpp to run the model. */
  tokenizer: Tokenizer;
  /** Element type of matrices: `f32` (default, exact) or `f16` (half the size). */
  dtype?: GgufTensorType;
  /** `general.name`. Default `stable-alignment-model`. */
  name?: string;
  /** Overrides the pre-tokenizer name detected from tokenizer.json. */
  preTokenizer?: GgufPreTokenizer;
}

/** llama.cpp's `general.file_type`: all f32, or mostly f16. */
const FILE_TYPE: Record<GgufTensorType, number> = { f32: 0, f16: 1 };

/** GGUF name of each Hugging Face tensor name suffix inside a block. */
const BLOCK_TENSOR_NAMES: Readonly<Record<string, string>> = {
  "input_layernorm.weight": "attn_norm.weight",
  "self_attn.q_proj.weight": "attn_q.weight",
  "self_attn.q_proj.bias": "attn_q.bias",
  "self_attn.k_proj.weight": "attn_k.weight",
  "self_attn.k_proj.bias": "attn_k.bias",
  "self_attn.v_proj.weight": "attn_v.weight",
  "self_attn.v_proj.bias": "attn_v.bias",
  "self_attn.o_proj.weight": "attn_output.weight",
  "post_attention_layernorm.weight": "ffn_norm.weight",
  "mlp.gate_proj.weight": "ffn_gate.weight",
  "mlp.up_proj.weight": "ffn_up.weight",
  "mlp.down_proj.weight": "ffn_down.weight",
};

/** The GGUF tensor name for a Hugging Face tensor name. */
export function ggufTensorName(name: string): string {
  if (name === "model.embed_tokens.weight") return "token_embd.weight";
  if (name === "model.norm.weight") return "output_norm.weight";
  if (name === "lm_head.weight") return "output.weight";
  const match = /^model\.layers\.(\d+)\.(.+)$/.exec(name);
  const suffix = match ? BLOCK_TENSOR_NAMES[match[2] as string] : undefined;
  if (!match || suffix === undefined) throw new RangeError(`no GGUF name for tensor ${name}`);
  return `blk.${match[1]}.${suffix}`;
}

/** The llama.cpp architecture a family exports as. */
export function ggufArchitecture(config: Pick<CheckpointConfig, "family">): "llama" | "qwen2" {
  return config.family === "qwen2" ? "qwen2" : "llama";
}

/**
 * Reorders the rows of a q or k projection [heads * headDimension, in] from Hugging Face's rotary
 * layout (dimension i paired with i + headDimension/2) to GGUF `llama`'s (2i paired with 2i + 1):
 * within each head, row 2i + j of the output is row j * headDimension/2 + i of the input.
 */
export function permuteForGgufRotary({
  weight,
  heads,
  columns,
}: {
  weight: Float32Array;
  heads: number;
  columns: number;
}): Float32Array {
  const rows = weight.length / columns;
  const headDimension = rows / heads;
  const half = headDimension / 2;
  const output = new Float32Array(weight.length);
  for (let head = 0; head < heads; head++) {
    const base = head * headDimension;
    for (let index = 0; index < half; index++) {
      for (let pair = 0; pair < 2; pair++) {
        const from = (base + pair * half + index) * columns;
        const to = (base + 2 * index + pair) * columns;
        output.set(weight.subarray(from, from + columns), to);
      }
    }
  }
  return output;
}

/** Metadata and tensors of the GGUF file, without writing it. */
export function buildGgufModel({
  config,
  weights,
  tokenizer,
  dtype = "f32",
  name = "stable-alignment-model",
  preTokenizer,
}: GgufExportOptions): GgufContents {
  const architecture = ggufArchitecture(config);
  const key = (suffix: string) => `${architecture}.${suffix}`;
  const metadata: Record<string, GgufMetadataValue> = {
    "general.architecture": metadataValue.string(architecture),
    "general.name": metadataValue.string(name),
    "general.file_type": metadataValue.uint32(FILE_TYPE[dtype]),
    [key("context_length")]: metadataValue.uint32(config.maxPositions),
    [key("embedding_length")]: metadataValue.uint32(config.hiddenSize),
    [key("block_count")]: metadataValue.uint32(config.layers),
    [key("feed_forward_length")]: metadataValue.uint32(config.intermediateSize),
    [key("attention.head_count")]: metadataValue.uint32(config.heads),
    [key("attention.head_count_kv")]: metadataValue.uint32(config.kvHeads),
    [key("attention.layer_norm_rms_epsilon")]: metadataValue.float32(config.rmsNormEpsilon),
    [key("rope.freq_base")]: metadataValue.float32(config.ropeTheta),
    [key("rope.dimension_count")]: metadataValue.uint32(headDimensionOf(config)),
    [key("vocab_size")]: metadataValue.uint32(config.vocabularySize),
    ...ggufTokenizerMetadata({
      tokenizer,
      vocabularySize: config.vocabularySize,
      ...(preTokenizer ? { preTokenizer } : {}),
    }),
  };
  const tensors: GgufTensor[] = checkpointTensorSpecs(config).map((spec) => {
    let data = weights.get(spec.name);
    if (!data) throw new RangeError(`weights lack ${spec.name}`);
    const columns = spec.shape[1] ?? 1;
    if (architecture === "llama" && spec.name.endsWith("self_attn.q_proj.weight")) {
      data = permuteForGgufRotary({ weight: data, heads: config.heads, columns });
    } else if (architecture === "llama" && spec.name.endsWith("self_attn.k_proj.weight")) {
      data = permuteForGgufRotary({ weight: data, heads: config.kvHeads, columns });
    }
    // As llama.cpp's converter: vectors (norms, biases) stay f32 whatever the file type.
    const type: GgufTensorType = spec.shape.length === 1 ? "f32" : dtype;
    return { name: ggufTensorName(spec.name), shape: spec.shape, type, data };
  });
  return { metadata, tensors };
}

/** Writes the model as a GGUF file at `path` (atomically, tensor by tensor). */
export async function exportGguf({ path, ...options }: GgufExportOptions & { path: string }): Promise<void> {
  await writeGgufFile({ path, ...buildGgufModel(options) });
}
