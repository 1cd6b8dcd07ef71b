/**
 * GGUF tokenizer metadata (`tokenizer.ggml.*`) for a byte-level BPE tokenizer, as llama.cpp's own
 * converter writes it: every token by id, token types, merges, the pre-tokenizer name llama.cpp
 * uses to pick its split rules, special token ids, BOS/EOS flags and the chat template.
 */
import { InputError } from "../../spec/errors.js";
import type { Tokenizer } from "../tokenizer/tokenizer.js";
import { type GgufMetadataValue, metadataValue } from "./gguf-writer.js";

/** llama.cpp token types. */
const TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

/** Pre-tokenizer names llama.cpp knows, recognised from a tokenizer.json's pre_tokenizer. */
export type GgufPreTokenizer = "gpt-2" | "smollm" | "llama-bpe" | "qwen2";

const LLAMA3_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/**
 * The llama.cpp pre-tokenizer equivalent to a tokenizer.json `pre_tokenizer`, or undefined when
 * none is known to split text the same way.
 */
export function detectPreTokenizer(preTokenizer: unknown): GgufPreTokenizer | undefined {
  const node = preTokenizer as { type?: string; use_regex?: boolean; pretokenizers?: unknown[] } | null;
  if (node?.type === "ByteLevel" && node.use_regex !== false) return "gpt-2";
  if (node?.type !== "Sequence" || !Array.isArray(node.pretokenizers)) return undefined;
  const parts = node.pretokenizers as {
    type?: string;
    use_regex?: boolean;
    individual_digits?: boolean;
    pattern?: { Regex?: string };
  }[];
  const [first, second] = parts;
  if (parts.length !== 2 || first === undefined || second?.type !== "ByteLevel") return undefined;
  if (first.type === "Digits" && first.individual_digits === true && second.use_regex !== false) return "smollm";
  if (first.type === "Split" && second.use_regex === false) {
    if (first.pattern?.Regex === LLAMA3_SPLIT) return "llama-bpe";
    if (first.pattern?.Regex === QWEN2_SPLIT) return "qwen2";
  }
  return undefined;
}

/**
 * The `tokenizer.*` metadata for `tokenizer`, padded with unused `[PADn]` tokens up to the model's
 * `vocabularySize` (embedding rows beyond the tokenizer, as Qwen2 has). Byte-level BPE tokenizers
 * export as llama.cpp's `gpt2` model with the pre-tokenizer name detected from tokenizer.json
 * (`preTokenizer` overrides it); SentencePiece-style BPE tokenizers (`▁` for spaces, byte fallback:
 * Llama 2, Mistral) as its `llama` model, with scores that rank tokens by the merge that makes them.
 * Throws InputError for tokenizers llama.cpp could not reproduce.
 */
export function ggufTokenizerMetadata({
  tokenizer,
  vocabularySize,
  preTokenizer,
}: {
  tokenizer: Tokenizer;
  vocabularySize: number;
  preTokenizer?: GgufPreTokenizer;
}): Record<string, GgufMetadataValue> {
  const json = tokenizer.tokenizerJson;
  if (tokenizer.vocabularySize > vocabularySize) {
    throw new InputError(
      `the tokenizer has ${tokenizer.vocabularySize} tokens but the model only ${vocabularySize} embedding rows`,
    );
  }
  const sentencePiece = json.model.type === "BPE" && json.model.byte_fallback === true && usesMetaspace(json);
  if (json.model.type !== "BPE" || (!sentencePiece && !isByteLevel(json.decoder))) {
    throw new InputError(
      `GGUF export supports byte-level BPE and SentencePiece-style BPE tokenizers only (this one: ${json.model.type}${json.model.byte_fallback ? " with byte fallback" : ""})`,
    );
  }
  const metadata = sentencePiece
    ? sentencePieceVocabulary(tokenizer, vocabularySize)
    : byteLevelVocabulary(tokenizer, vocabularySize, preTokenizer);
  if (tokenizer.bosTokenId !== undefined)
    metadata["tokenizer.ggml.bos_token_id"] = metadataValue.uint32(tokenizer.bosTokenId);
  if (tokenizer.eosTokenId !== undefined)
    metadata["tokenizer.ggml.eos_token_id"] = metadataValue.uint32(tokenizer.eosTokenId);
  const unknown = typeof json.model.unk_token === "string" ? tokenizer.tokenId(json.model.unk_token) : undefined;
  if (unknown !== undefined) metadata["tokenizer.ggml.unknown_token_id"] = metadataValue.uint32(unknown);
  if (tokenizer.padTokenId !== undefined) {
    metadata["tokenizer.ggml.padding_token_id"] = metadataValue.uint32(tokenizer.padTokenId);
  }
  metadata["tokenizer.ggml.add_bos_token"] = metadataValue.bool(tokenizer.addsBosToken);
  metadata["tokenizer.ggml.add_eos_token"] = metadataValue.bool(false);
  if (tokenizer.chatTemplate !== undefined)
    metadata["tokenizer.chat_template"] = metadataValue.string(tokenizer.chatTemplate);
  return metadata;
}

function byteLevelVocabulary(
  tokenizer: Tokenizer,
  vocabularySize: number,
  preTokenizer: GgufPreTokenizer | undefined,
): Record<string, GgufMetadataValue> {
  const json = tokenizer.tokenizerJson;
  const pre = preTokenizer ?? detectPreTokenizer(json.pre_tokenizer);
  if (pre === undefined) {
    throw new InputError(
      `the tokenizer's pre_tokenizer (${JSON.stringify(json.pre_tokenizer).slice(0, 200)}) matches no pre-tokenizer llama.cpp knows (gpt-2, smollm, llama-bpe, qwen2); pass one explicitly if you know it splits text the same way`,
    );
  }
  const added = new Map(json.added_tokens.map((token) => [token.id, token]));
  const tokens: string[] = [];
  const types: number[] = [];
  for (let id = 0; id < vocabularySize; id++) {
    const text = tokenizer.tokenString(id);
    const addedToken = added.get(id);
    if (text === undefined) {
      tokens.push(`[PAD${id}]`);
      types.push(TOKEN_TYPE.unused);
    } else {
      tokens.push(text);
      types.push(addedToken ? (addedToken.special ? TOKEN_TYPE.control : TOKEN_TYPE.userDefined) : TOKEN_TYPE.normal);
    }
  }
  return {
    "tokenizer.ggml.model": metadataValue.string("gpt2"),
    "tokenizer.ggml.pre": metadataValue.string(pre),
    "tokenizer.ggml.tokens": metadataValue.stringArray(tokens),
    "tokenizer.ggml.token_type": metadataValue.int32Array(types),
    "tokenizer.ggml.merges": metadataValue.stringArray(mergeStrings(tokenizer)),
  };
}

/**
 * llama.cpp's SentencePiece tokenizer merges the adjacent pair whose joined text is the
 * highest-scoring token; scoring each token by minus the rank of the merge that makes it gives the
 * lowest-rank-merge-first order BPE uses.
 */
function sentencePieceVocabulary(tokenizer: Tokenizer, vocabularySize: number): Record<string, GgufMetadataValue> {
  const json = tokenizer.tokenizerJson;
  const rank = new Map<string, number>();
  for (const [index, merge] of mergeStrings(tokenizer).entries()) {
    const joined = merge.replace(" ", "");
    if (!rank.has(joined)) rank.set(joined, index);
  }
  const added = new Map(json.added_tokens.map((token) => [token.id, token]));
  const unknownToken = typeof json.model.unk_token === "string" ? json.model.unk_token : undefined;
  const tokens: string[] = [];
  const scores: number[] = [];
  const types: number[] = [];
  for (let id = 0; id < vocabularySize; id++) {
    const text = tokenizer.tokenString(id);
    const addedToken = added.get(id);
    if (text === undefined) {
      tokens.push(`[PAD${id}]`);
      scores.push(-1e9);
      types.push(TOKEN_TYPE.unused);
      continue;
    }
    tokens.push(text);
    const mergeRank = rank.get(text);
    scores.push(mergeRank === undefined ? 0 : -(mergeRank + 1));
    if (text === unknownToken) types.push(TOKEN_TYPE.unknown);
    else if (addedToken) types.push(addedToken.special ? TOKEN_TYPE.control : TOKEN_TYPE.userDefined);
    else if (/^<0x[0-9A-Fa-f]{2}>$/.test(text)) types.push(TOKEN_TYPE.byte);
    else types.push(TOKEN_TYPE.normal);
  }
  return {
    "tokenizer.ggml.model": metadataValue.string("llama"),
    "tokenizer.ggml.tokens": metadataValue.stringArray(tokens),
    "tokenizer.ggml.scores": metadataValue.float32Array(scores),
    "tokenizer.ggml.token_type": metadataValue.int32Array(types),
    "tokenizer.ggml.add_space_prefix": metadataValue.bool(prependsSpace(json)),
  };
}

function mergeStrings(tokenizer: Tokenizer): string[] {
  return tokenizer.tokenizerJson.model.merges.map((merge) => (typeof merge === "string" ? merge : merge.join(" ")));
}

/** Spaces spelled `▁` (U+2581), by a normalizer Replace or a Metaspace pre-tokenizer. */
function usesMetaspace(json: Tokenizer["tokenizerJson"]): boolean {
  return JSON.stringify([json.normalizer, json.pre_tokenizer]).includes("\u2581");
}

/** Whether a `▁` is prepended to the text (Llama 2's Prepend normalizer, or Metaspace's prepend scheme). */
function prependsSpace(json: Tokenizer["tokenizerJson"]): boolean {
  const normalizers = (json.normalizer as { type?: string; normalizers?: { type?: string }[] } | null) ?? null;
  const list = normalizers?.type === "Sequence" ? (normalizers.normalizers ?? []) : normalizers ? [normalizers] : [];
  if (list.some((entry) => entry.type === "Prepend")) return true;
  const pre = json.pre_tokenizer as { type?: string; prepend_scheme?: string; add_prefix_space?: boolean } | null;
  return (
    pre?.type === "Metaspace" &&
    (pre.prepend_scheme === "always" || pre.prepend_scheme === "first" || pre.add_prefix_space === true)
  );
}

function isByteLevel(decoder: unknown): boolean {
  const node = decoder as { type?: string; decoders?: unknown[] } | null;
  if (node?.type === "ByteLevel") return true;
  return node?.type === "Sequence" && Array.isArray(node.decoders) && node.decoders.some(isByteLevel);
}
