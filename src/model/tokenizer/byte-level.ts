/**
 * GPT-2's byte-level alphabet and pre-tokenizer, shared by the BPE trainer and the GGUF exporter.
 * Each byte is spelled as one printable character (printable Latin-1 bytes as themselves, the rest
 * shifted to U+0100 upward in byte order), so every token is a string and no byte is unknown.
 */

/** The character GPT-2's byte-level alphabet uses for each byte, indexed by byte value. */
export const BYTE_TO_CHARACTER: readonly string[] = buildByteAlphabet();

/** The byte each alphabet character stands for. */
export const CHARACTER_TO_BYTE: ReadonlyMap<string, number> = new Map(
  BYTE_TO_CHARACTER.map((character, byte) => [character, byte]),
);

function buildByteAlphabet(): string[] {
  const characters: string[] = [];
  let shifted = 0;
  for (let byte = 0; byte < 256; byte++) {
    const printable =
      (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
    characters.push(String.fromCodePoint(printable ? byte : 0x100 + shifted++));
  }
  return characters;
}

/**
 * GPT-2's pre-tokenizer split: contractions, letter runs, digit runs and punctuation runs, each with
 * one optional leading space, and whitespace runs. It is the split of a `ByteLevel` pre-tokenizer
 * with `use_regex` and of llama.cpp's `gpt-2` pre-tokenizer.
 */
export const GPT2_SPLIT_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

const splitExpression = new RegExp(GPT2_SPLIT_PATTERN, "gu");
const encoder = new TextEncoder();

/** Splits `text` into GPT-2 pre-tokens (the pieces BPE merges never cross). */
export function splitGpt2(text: string): string[] {
  return text.match(splitExpression) ?? [];
}

/** A piece of text spelled in the byte-level alphabet (one character per UTF-8 byte). */
export function toByteLevel(text: string): string {
  let spelled = "";
  for (const byte of encoder.encode(text)) spelled += BYTE_TO_CHARACTER[byte];
  return spelled;
}
