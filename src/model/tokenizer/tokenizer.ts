/**
 * Tokenizers from Hugging Face tokenizer files (`tokenizer.json` plus `tokenizer_config.json`), run
 * by `@huggingface/tokenizers` entirely offline. Special tokens in text are always recognised (as
 * llama.cpp does with `parse_special`), so chat-template output tokenizes as the model expects.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Tokenizer as HuggingFaceTokenizer } from "@huggingface/tokenizers";
import { InputError } from "../../spec/errors.js";
import type { AddedTokenJson, TokenizerJson } from "./byte-level-bpe-trainer.js";

/** A loaded tokenizer. */
export interface Tokenizer {
  /** Number of ids (highest id + 1), added tokens included. */
  readonly vocabularySize: number;
  readonly bosTokenId: number | undefined;
  readonly eosTokenId: number | undefined;
  readonly padTokenId: number | undefined;
  /** Ids that end a chat turn or a document: EOS plus turn-end tokens such as `<|im_end|>`, `<|eot_id|>`. */
  readonly endTokenIds: readonly number[];
  /** Whether `encode` with special tokens prepends BOS (from the post-processor or `add_bos_token`). */
  readonly addsBosToken: boolean;
  /** The Jinja chat template from tokenizer_config.json or chat_template.jinja, if any. */
  readonly chatTemplate: string | undefined;
  /** Special tokens (BOS, EOS, ...) by name, as the chat template sees them: `bos_token`, `eos_token`. */
  readonly specialTokenStrings: Readonly<Record<string, string>>;
  /** The files it was built from, for saving and GGUF export. */
  readonly tokenizerJson: TokenizerJson;
  readonly tokenizerConfig: Readonly<Record<string, unknown>>;
  /**
   * Token ids of `text`. `addSpecialTokens` (default false) applies the post-processor (BOS for
   * Llama-style tokenizers); special-token strings inside `text` always map to their ids.
   */
  encode(text: string, options?: { addSpecialTokens?: boolean }): number[];
  /** Text of `ids`; `skipSpecialTokens` (default false) drops special tokens. */
  decode(ids: readonly number[], options?: { skipSpecialTokens?: boolean }): string;
  /** The vocabulary string of one id (byte-level spelling for BPE), or undefined when out of range. */
  tokenString(id: number): string | undefined;
  /** The id of a vocabulary string, or undefined. */
  tokenId(token: string): number | undefined;
}

/** Builds a tokenizer from parsed files. */
export function createTokenizer({
  tokenizerJson,
  tokenizerConfig = {},
  chatTemplate,
}: {
  tokenizerJson: TokenizerJson;
  tokenizerConfig?: Record<string, unknown>;
  /** Overrides the config's template (e.g. from chat_template.jinja). */
  chatTemplate?: string;
}): Tokenizer {
  const inner = new HuggingFaceTokenizer(tokenizerJson, tokenizerConfig);
  const vocabulary = inner.get_vocab(true);
  let vocabularySize = 0;
  for (const id of vocabulary.values()) vocabularySize = Math.max(vocabularySize, id + 1);
  const specialTokenStrings: Record<string, string> = {};
  for (const name of ["bos_token", "eos_token", "pad_token", "unk_token"]) {
    const text = tokenText(tokenizerConfig[name]);
    if (text !== undefined) specialTokenStrings[name] = text;
  }
  const idOf = (text: string | undefined) => (text === undefined ? undefined : inner.token_to_id(text));
  const bosTokenId = idOf(specialTokenStrings.bos_token);
  const eosTokenId = idOf(specialTokenStrings.eos_token);
  const endTokenIds = new Set<number>();
  if (eosTokenId !== undefined) endTokenIds.add(eosTokenId);
  for (const token of tokenizerJson.added_tokens ?? []) {
    if (token.special && TURN_END_TOKENS.has(token.content)) endTokenIds.add(token.id);
  }
  const probe = inner.encode("a", { add_special_tokens: true }).ids;
  const cleanUp = tokenizerConfig.clean_up_tokenization_spaces === true;
  return {
    vocabularySize,
    bosTokenId,
    eosTokenId,
    padTokenId: idOf(specialTokenStrings.pad_token),
    endTokenIds: [...endTokenIds],
    addsBosToken: bosTokenId !== undefined && probe[0] === bosTokenId,
    chatTemplate: chatTemplate ?? templateOf(tokenizerConfig.chat_template),
    specialTokenStrings,
    tokenizerJson,
    tokenizerConfig,
    encode(text, { addSpecialTokens = false } = {}) {
      if (text === "") return addSpecialTokens ? inner.encode(text, { add_special_tokens: true }).ids : [];
      return inner.encode(text, { add_special_tokens: addSpecialTokens }).ids;
    },
    decode(ids, { skipSpecialTokens = false } = {}) {
      if (ids.length === 0) return "";
      return inner.decode([...ids], { skip_special_tokens: skipSpecialTokens, clean_up_tokenization_spaces: cleanUp });
    },
    tokenString: (id) => inner.id_to_token(id),
    tokenId: (token) => inner.token_to_id(token),
  };
}

/** Special tokens that end a turn in common chat formats, besides the tokenizer's EOS. */
const TURN_END_TOKENS = new Set(["<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "</s>"]);

/** Loads `tokenizer.json`, `tokenizer_config.json` (optional) and `chat_template.jinja` (optional) from `directory`. */
export async function loadTokenizer({ directory }: { directory: string }): Promise<Tokenizer> {
  const tokenizerPath = join(directory, "tokenizer.json");
  const tokenizerJson = (await readJson(tokenizerPath)) as TokenizerJson | undefined;
  if (!tokenizerJson) {
    throw new InputError("no tokenizer.json (only Hugging Face fast-tokenizer files are supported)", {
      file: directory,
    });
  }
  if (typeof tokenizerJson.model !== "object" || tokenizerJson.model === null) {
    throw new InputError("tokenizer.json has no model section", { file: tokenizerPath });
  }
  const tokenizerConfig = ((await readJson(join(directory, "tokenizer_config.json"))) ?? {}) as Record<string, unknown>;
  const template = await readFile(join(directory, "chat_template.jinja"), "utf8").catch(() => undefined);
  try {
    return createTokenizer({
      tokenizerJson,
      tokenizerConfig,
      ...(template !== undefined ? { chatTemplate: template } : {}),
    });
  } catch (error) {
    throw new InputError(`cannot build the tokenizer: ${(error as Error).message}`, {
      file: tokenizerPath,
      cause: error,
    });
  }
}

/** Writes `tokenizer.json` and `tokenizer_config.json` into `directory` (created if missing). */
export async function saveTokenizer({
  directory,
  tokenizerJson,
  tokenizerConfig,
}: {
  directory: string;
  tokenizerJson: TokenizerJson;
  tokenizerConfig: Readonly<Record<string, unknown>>;
}): Promise<void> {
  await mkdir(directory, { recursive: true });
  await writeFile(join(directory, "tokenizer.json"), `${JSON.stringify(tokenizerJson, null, 2)}\n`);
  await writeFile(join(directory, "tokenizer_config.json"), `${JSON.stringify(tokenizerConfig, null, 2)}\n`);
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InputError(`not valid JSON: ${(error as Error).message}`, { file: path, cause: error });
  }
}

/** A special token in tokenizer_config.json is a string or an AddedToken-like `{ content }`. */
function tokenText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "object" && value !== null && typeof (value as { content?: unknown }).content === "string") {
    return (value as { content: string }).content;
  }
  return undefined;
}

/** `chat_template` is a string, or a list of `{ name, template }` whose `default` entry is the chat one. */
function templateOf(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) {
    const named = value as { name?: unknown; template?: unknown }[];
    const chosen = named.find((entry) => entry.name === "default") ?? named[0];
    return typeof chosen?.template === "string" ? chosen.template : undefined;
  }
  return undefined;
}

export type { AddedTokenJson, TokenizerJson };
