/**
 * A tiny llama-architecture GGUF whose greedy output is known in advance, so tests can run real
 * llama.cpp inference and assert exact strings without downloading anything.
 *
 * Design: a GPT-2 style byte-level BPE vocabulary with one token per byte (ids 0-255, no merges, so
 * text tokenizes to exactly one token per UTF-8 byte) plus BOS (256) and EOS (257). Embeddings are
 * one-hot; attention and MLP weights are zero, so the residual stream carries the current token's
 * one-hot vector unchanged to the output head, which maps each byte to its successor. The next token
 * therefore depends only on the last token: printable ASCII counts upward (`a` -> `b`), `~` wraps to a
 * newline and a newline to a space; every other byte (control characters, bytes >= 0x7f) predicts EOS.
 */
import { StableAlignmentError } from "../spec/errors.js";
import {
  type GgufContents,
  type GgufMetadataValue,
  type GgufTensor,
  metadataValue,
  writeGgufFile,
} from "./gguf-writer.js";

/** Token id of the beginning-of-sequence token. */
export const TINY_MODEL_BOS_TOKEN = 256;
/** Token id of the end-of-sequence token. */
export const TINY_MODEL_EOS_TOKEN = 257;

const BYTE_TOKENS = 256;
const VOCABULARY_SIZE = 258;
const EMBEDDING_LENGTH = 256;
const HEAD_COUNT = 4;
const FEED_FORWARD_LENGTH = 32;

/**
 * The tiny model's default chat template (Jinja): `<|role|>content<eos>` per message, then
 * `<|assistant|>`. Messages end with the EOS token, as in real templates, so no plain-text stop
 * string can cut a reply short. A reply always continues from `>`; see `expectedGreedyChatReply`.
 */
export const TINY_MODEL_CHAT_TEMPLATE =
  "{% for message in messages %}<|{{ message['role'] }}|>{{ message['content'] }}{{ eos_token }}{% endfor %}" +
  "{% if add_generation_prompt %}<|assistant|>{% endif %}";

/** The text that ends every chat prompt rendered by `TINY_MODEL_CHAT_TEMPLATE`. */
export const TINY_MODEL_GENERATION_PROMPT = "<|assistant|>";

/**
 * The next byte the tiny model predicts after `byte`, or `undefined` for EOS.
 * Printable ASCII counts upward, `~` wraps to `\n`, `\n` to space; everything else ends the text.
 */
export function tinyModelNextByte(byte: number): number | undefined {
  if (byte === 0x0a) return 0x20;
  if (byte === 0x7e) return 0x0a;
  if (byte >= 0x20 && byte < 0x7e) return byte + 1;
  return undefined;
}

/**
 * The exact text greedy decoding produces after `prompt` (non-empty) within `maxTokens` tokens.
 * Stops early where the model predicts EOS (after a control character or non-ASCII byte).
 */
export function expectedGreedyContinuation(prompt: string, maxTokens: number): string {
  const bytes = new TextEncoder().encode(prompt);
  let current = bytes[bytes.length - 1];
  if (current === undefined)
    throw new StableAlignmentError("TEST_KIT_MISUSE", "expectedGreedyContinuation needs a non-empty prompt");
  let text = "";
  for (let step = 0; step < maxTokens; step++) {
    const next = tinyModelNextByte(current);
    if (next === undefined) break;
    text += String.fromCharCode(next);
    current = next;
  }
  return text;
}

/** The exact greedy chat reply of a tiny model that uses the default chat template, for any messages. */
export function expectedGreedyChatReply(maxTokens: number): string {
  return expectedGreedyContinuation(TINY_MODEL_GENERATION_PROMPT, maxTokens);
}

/** Options for `writeTinyByteModel`. */
export interface TinyByteModelOptions {
  /** Where to write the `.gguf` file. */
  path: string;
  /** Jinja chat template stored in the file; `null` writes none (tests the provider's fallback). */
  chatTemplate?: string | null;
  /** Logit of the predicted token over all others (which get 0); 10 gives it ~99% at temperature 1. */
  logitMargin?: number;
  /** Training context length written to the metadata, in tokens. Default 4096. */
  contextLength?: number;
  /** `general.name` written to the metadata. Default `tiny-byte-model`. */
  name?: string;
}

/** Builds the tiny model's metadata and tensors without writing them (the exporter's tests reuse it). */
export function buildTinyByteModel({
  chatTemplate = TINY_MODEL_CHAT_TEMPLATE,
  logitMargin = 10,
  contextLength = 4096,
  name = "tiny-byte-model",
}: Omit<TinyByteModelOptions, "path"> = {}): GgufContents {
  const headDimension = EMBEDDING_LENGTH / HEAD_COUNT;
  const metadata: Record<string, GgufMetadataValue> = {
    "general.architecture": metadataValue.string("llama"),
    "general.name": metadataValue.string(name),
    "general.file_type": metadataValue.uint32(1),
    "llama.context_length": metadataValue.uint32(contextLength),
    "llama.embedding_length": metadataValue.uint32(EMBEDDING_LENGTH),
    "llama.block_count": metadataValue.uint32(1),
    "llama.feed_forward_length": metadataValue.uint32(FEED_FORWARD_LENGTH),
    "llama.attention.head_count": metadataValue.uint32(HEAD_COUNT),
    "llama.attention.head_count_kv": metadataValue.uint32(HEAD_COUNT),
    "llama.attention.layer_norm_rms_epsilon": metadataValue.float32(1e-5),
    "llama.rope.dimension_count": metadataValue.uint32(headDimension),
    "llama.vocab_size": metadataValue.uint32(VOCABULARY_SIZE),
    "tokenizer.ggml.model": metadataValue.string("gpt2"),
    "tokenizer.ggml.pre": metadataValue.string("default"),
    "tokenizer.ggml.tokens": metadataValue.stringArray(vocabularyTokens()),
    "tokenizer.ggml.token_type": metadataValue.int32Array([
      ...Array.from({ length: BYTE_TOKENS }, () => 1), // normal
      3, // control: BOS
      3, // control: EOS
    ]),
    "tokenizer.ggml.merges": metadataValue.stringArray([]),
    "tokenizer.ggml.bos_token_id": metadataValue.uint32(TINY_MODEL_BOS_TOKEN),
    "tokenizer.ggml.eos_token_id": metadataValue.uint32(TINY_MODEL_EOS_TOKEN),
    "tokenizer.ggml.add_bos_token": metadataValue.bool(false),
    "tokenizer.ggml.add_eos_token": metadataValue.bool(false),
  };
  if (chatTemplate !== null) metadata["tokenizer.chat_template"] = metadataValue.string(chatTemplate);
  return { metadata, tensors: tinyModelTensors(logitMargin) };
}

/** Writes the tiny model to `path` (about 1 MB) and returns the path. */
export async function writeTinyByteModel({ path, ...options }: TinyByteModelOptions): Promise<string> {
  await writeGgufFile({ path, ...buildTinyByteModel(options) });
  return path;
}

function tinyModelTensors(logitMargin: number): GgufTensor[] {
  const embeddings = new Float32Array(VOCABULARY_SIZE * EMBEDDING_LENGTH);
  for (let byte = 0; byte < BYTE_TOKENS; byte++) embeddings[byte * EMBEDDING_LENGTH + byte] = 1;
  // RMS norm scales a one-hot vector to sqrt(EMBEDDING_LENGTH); the head weight undoes that.
  const headWeight = logitMargin / Math.sqrt(EMBEDDING_LENGTH);
  const head = new Float32Array(VOCABULARY_SIZE * EMBEDDING_LENGTH);
  for (let byte = 0; byte < BYTE_TOKENS; byte++) {
    const next = tinyModelNextByte(byte) ?? TINY_MODEL_EOS_TOKEN;
    head[next * EMBEDDING_LENGTH + byte] = headWeight;
  }
  const ones = new Float32Array(EMBEDDING_LENGTH).fill(1);
  const square = () => new Float32Array(EMBEDDING_LENGTH * EMBEDDING_LENGTH);
  const feedForward = () => new Float32Array(FEED_FORWARD_LENGTH * EMBEDDING_LENGTH);
  return [
    { name: "token_embd.weight", shape: [VOCABULARY_SIZE, EMBEDDING_LENGTH], type: "f16", data: embeddings },
    { name: "output_norm.weight", shape: [EMBEDDING_LENGTH], type: "f32", data: ones },
    { name: "output.weight", shape: [VOCABULARY_SIZE, EMBEDDING_LENGTH], type: "f16", data: head },
    { name: "blk.0.attn_norm.weight", shape: [EMBEDDING_LENGTH], type: "f32", data: ones },
    { name: "blk.0.attn_q.weight", shape: [EMBEDDING_LENGTH, EMBEDDING_LENGTH], type: "f16", data: square() },
    { name: "blk.0.attn_k.weight", shape: [EMBEDDING_LENGTH, EMBEDDING_LENGTH], type: "f16", data: square() },
    { name: "blk.0.attn_v.weight", shape: [EMBEDDING_LENGTH, EMBEDDING_LENGTH], type: "f16", data: square() },
    { name: "blk.0.attn_output.weight", shape: [EMBEDDING_LENGTH, EMBEDDING_LENGTH], type: "f16", data: square() },
    { name: "blk.0.ffn_norm.weight", shape: [EMBEDDING_LENGTH], type: "f32", data: ones },
    { name: "blk.0.ffn_gate.weight", shape: [FEED_FORWARD_LENGTH, EMBEDDING_LENGTH], type: "f16", data: feedForward() },
    { name: "blk.0.ffn_up.weight", shape: [FEED_FORWARD_LENGTH, EMBEDDING_LENGTH], type: "f16", data: feedForward() },
    { name: "blk.0.ffn_down.weight", shape: [EMBEDDING_LENGTH, FEED_FORWARD_LENGTH], type: "f16", data: feedForward() },
  ];
}

/**
 * GPT-2 byte-level BPE spells each byte as one printable Unicode character: printable Latin-1 bytes
 * stand for themselves, the rest map to U+0100 upward in byte order.
 */
function vocabularyTokens(): string[] {
  const tokens: string[] = [];
  let shifted = 0;
  for (let byte = 0; byte < BYTE_TOKENS; byte++) {
    const printable =
      (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
    tokens.push(String.fromCodePoint(printable ? byte : 0x100 + shifted++));
  }
  tokens.push("<bos>", "<eos>");
  return tokens;
}
