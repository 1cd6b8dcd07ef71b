/**
 * A byte-level BPE trainer for models trained from scratch. It writes the files a Hugging Face
 * tokenizer directory holds (`tokenizer.json`, `tokenizer_config.json`), which load in
 * `@huggingface/tokenizers`, Hugging Face transformers and (exported to GGUF with the `gpt-2`
 * pre-tokenizer) llama.cpp, all three splitting text the same way.
 *
 * Training: split the text with GPT-2's pre-tokenizer, count the distinct pieces, then repeatedly
 * merge the most frequent adjacent pair of symbols (ties: the pair of lower ids) until the
 * vocabulary is full or no pair occurs `minimumFrequency` times. Pair counts are updated only for
 * the pieces a merge touches, with a lazily invalidated max-heap, so training is fast enough for
 * tens of megabytes of text.
 */
import { BYTE_TO_CHARACTER, splitGpt2, toByteLevel } from "./byte-level.js";

/** `tokenizer.json` as this toolkit writes and reads it (the fields it relies on). */
export interface TokenizerJson {
  version: string;
  added_tokens: AddedTokenJson[];
  normalizer: unknown;
  pre_tokenizer: unknown;
  post_processor: unknown;
  decoder: unknown;
  model: { type: string; vocab: Record<string, number>; merges: (string | [string, string])[]; [key: string]: unknown };
  [key: string]: unknown;
}

/** One `added_tokens` entry of `tokenizer.json`. */
export interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/** Special tokens of a trained tokenizer; they take ids 0, 1, 2 in this order. */
export const DEFAULT_SPECIAL_TOKENS = {
  /** Ends a document; also the BOS and padding token. */
  endOfText: "<|endoftext|>",
  /** Starts a chat turn (ChatML). */
  turnStart: "<|im_start|>",
  /** Ends a chat turn (ChatML); generation stops on it. */
  turnEnd: "<|im_end|>",
} as const;

/** ChatML, the simple chat template trained tokenizers get: `<|im_start|>role\ncontent<|im_end|>\n`. */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** What the trainer produces: the two files of a Hugging Face tokenizer directory. */
export interface TrainedTokenizer {
  tokenizerJson: TokenizerJson;
  tokenizerConfig: Record<string, unknown>;
  /** Merges learned (vocabulary = 3 special + 256 byte tokens + merges). */
  mergeCount: number;
}

/** Options of {@link trainByteLevelBpe}. */
export interface ByteLevelBpeTrainingOptions {
  /** Training text, as one or many strings (documents). Special-token strings in it are skipped. */
  texts: Iterable<string>;
  /** Vocabulary size to reach, special and byte tokens included; at least 259. */
  vocabularySize: number;
  /** Pairs seen fewer times than this are never merged. Default 2. */
  minimumFrequency?: number;
  /** `model_max_length` written to tokenizer_config.json, in tokens. Default 2048. */
  modelMaxLength?: number;
}

const SPECIAL_COUNT = 3;
const FIRST_BYTE_ID = SPECIAL_COUNT;

/** Trains a byte-level BPE tokenizer; deterministic for the same text and options. */
export function trainByteLevelBpe({
  texts,
  vocabularySize,
  minimumFrequency = 2,
  modelMaxLength = 2048,
}: ByteLevelBpeTrainingOptions): TrainedTokenizer {
  if (!Number.isInteger(vocabularySize) || vocabularySize < SPECIAL_COUNT + 256 || vocabularySize > 1 << 20) {
    throw new RangeError(
      `vocabularySize must be an integer in [${SPECIAL_COUNT + 256}, ${1 << 20}], got ${vocabularySize}`,
    );
  }
  const tokens: string[] = [
    DEFAULT_SPECIAL_TOKENS.endOfText,
    DEFAULT_SPECIAL_TOKENS.turnStart,
    DEFAULT_SPECIAL_TOKENS.turnEnd,
    ...BYTE_TO_CHARACTER,
  ];
  const words = countWords(texts);
  const merges: [string, string][] = [];
  const tokenIds = new Map(tokens.map((token, id) => [token, id]));
  const learner = new PairCounter(words);
  while (tokens.length < vocabularySize) {
    const best = learner.popBest();
    if (best === undefined || best.count < minimumFrequency) break;
    const left = tokens[best.left] as string;
    const right = tokens[best.right] as string;
    const merged = left + right;
    let id = tokenIds.get(merged);
    if (id === undefined) {
      id = tokens.length;
      tokens.push(merged);
      tokenIds.set(merged, id);
    }
    merges.push([left, right]);
    learner.merge(best.left, best.right, id);
  }
  return {
    tokenizerJson: tokenizerJsonFor(tokens, merges),
    tokenizerConfig: tokenizerConfigFor(modelMaxLength),
    mergeCount: merges.length,
  };
}

interface Word {
  symbols: number[];
  count: number;
}

function countWords(texts: Iterable<string>): Word[] {
  const counts = new Map<string, number>();
  const specials = new RegExp(
    Object.values(DEFAULT_SPECIAL_TOKENS)
      .map((token) => token.replace(/[|]/g, "\\|"))
      .join("|"),
    "g",
  );
  for (const text of texts) {
    for (const part of text.split(specials)) {
      for (const piece of splitGpt2(part)) counts.set(piece, (counts.get(piece) ?? 0) + 1);
    }
  }
  const byteIds = new Map(BYTE_TO_CHARACTER.map((character, byte) => [character, FIRST_BYTE_ID + byte]));
  return [...counts].map(([piece, count]) => ({
    symbols: Array.from(toByteLevel(piece), (character) => byteIds.get(character) as number),
    count,
  }));
}

/** Pair counts over all words, with the words each pair occurs in, and a max-heap of candidates. */
class PairCounter {
  private readonly counts = new Map<number, number>();
  private readonly wordsOf = new Map<number, Set<number>>();
  /** Heap entries [count, pair key]; stale entries (count changed) are skipped when popped. */
  private readonly heap: [number, number][] = [];

  constructor(private readonly words: Word[]) {
    for (const [index, word] of words.entries()) this.addPairs(index, word, 1);
    for (const [key, count] of this.counts) this.push(count, key);
  }

  popBest(): { left: number; right: number; count: number } | undefined {
    while (this.heap.length > 0) {
      const [count, key] = this.pop();
      if (this.counts.get(key) !== count || count <= 0) continue;
      return { left: Math.floor(key / PAIR_BASE), right: key % PAIR_BASE, count };
    }
    return undefined;
  }

  merge(left: number, right: number, merged: number): void {
    const key = left * PAIR_BASE + right;
    const touched = this.wordsOf.get(key);
    if (!touched) return;
    const changed = new Set<number>();
    for (const index of touched) {
      const word = this.words[index] as Word;
      this.addPairs(index, word, -1, changed);
      const symbols: number[] = [];
      for (let position = 0; position < word.symbols.length; position++) {
        if (word.symbols[position] === left && word.symbols[position + 1] === right) {
          symbols.push(merged);
          position++;
        } else symbols.push(word.symbols[position] as number);
      }
      word.symbols = symbols;
      this.addPairs(index, word, 1, changed);
    }
    this.counts.delete(key);
    this.wordsOf.delete(key);
    for (const changedKey of changed) {
      const count = this.counts.get(changedKey);
      if (count !== undefined && count > 0) this.push(count, changedKey);
    }
  }

  private addPairs(index: number, word: Word, sign: 1 | -1, changed?: Set<number>): void {
    for (let position = 0; position + 1 < word.symbols.length; position++) {
      const key = (word.symbols[position] as number) * PAIR_BASE + (word.symbols[position + 1] as number);
      const count = (this.counts.get(key) ?? 0) + sign * word.count;
      if (count <= 0) this.counts.delete(key);
      else this.counts.set(key, count);
      changed?.add(key);
      if (sign > 0) {
        const set = this.wordsOf.get(key);
        if (set) set.add(index);
        else this.wordsOf.set(key, new Set([index]));
      }
    }
  }

  private better(first: [number, number], second: [number, number]): boolean {
    return first[0] > second[0] || (first[0] === second[0] && first[1] < second[1]);
  }

  private push(count: number, key: number): void {
    const heap = this.heap;
    heap.push([count, key]);
    let child = heap.length - 1;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if (!this.better(heap[child] as [number, number], heap[parent] as [number, number])) break;
      [heap[child], heap[parent]] = [heap[parent] as [number, number], heap[child] as [number, number]];
      child = parent;
    }
  }

  private pop(): [number, number] {
    const heap = this.heap;
    const top = heap[0] as [number, number];
    const last = heap.pop() as [number, number];
    if (heap.length > 0) {
      heap[0] = last;
      let parent = 0;
      for (;;) {
        const first = parent * 2 + 1;
        const second = first + 1;
        let best = parent;
        if (first < heap.length && this.better(heap[first] as [number, number], heap[best] as [number, number]))
          best = first;
        if (second < heap.length && this.better(heap[second] as [number, number], heap[best] as [number, number]))
          best = second;
        if (best === parent) break;
        [heap[best], heap[parent]] = [heap[parent] as [number, number], heap[best] as [number, number]];
        parent = best;
      }
    }
    return top;
  }
}

/** Pair keys are left * PAIR_BASE + right; ids stay below 2^20, so keys stay exact doubles. */
const PAIR_BASE = 1 << 20;

function addedToken(id: number, content: string): AddedTokenJson {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

function tokenizerJsonFor(tokens: readonly string[], merges: readonly [string, string][]): TokenizerJson {
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: tokens.slice(0, SPECIAL_COUNT).map((content, id) => addedToken(id, content)),
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: { ...byteLevel, trim_offsets: false },
    decoder: byteLevel,
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: Object.fromEntries(tokens.map((token, id) => [token, id])),
      merges: merges.map(([left, right]) => `${left} ${right}`),
    },
  };
}

function tokenizerConfigFor(modelMaxLength: number): Record<string, unknown> {
  const specials = Object.values(DEFAULT_SPECIAL_TOKENS);
  const decoder = Object.fromEntries(
    specials.map((content, id) => {
      const { id: _id, ...entry } = addedToken(id, content);
      return [String(id), entry];
    }),
  );
  return {
    add_bos_token: false,
    add_eos_token: false,
    added_tokens_decoder: decoder,
    additional_special_tokens: [DEFAULT_SPECIAL_TOKENS.turnStart, DEFAULT_SPECIAL_TOKENS.turnEnd],
    bos_token: DEFAULT_SPECIAL_TOKENS.endOfText,
    eos_token: DEFAULT_SPECIAL_TOKENS.endOfText,
    pad_token: DEFAULT_SPECIAL_TOKENS.endOfText,
    unk_token: null,
    chat_template: CHATML_TEMPLATE,
    clean_up_tokenization_spaces: false,
    model_max_length: modelMaxLength,
    tokenizer_class: "PreTrainedTokenizerFast",
  };
}
