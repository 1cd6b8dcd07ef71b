import { InvalidArgumentError } from "commander";
import { parseEmbeddingSpec, parseModelSpec } from "../llm/model-spec.js";
import { StableAlignmentError } from "../spec/errors.js";

/** A commander option parser for integers in [min, max]; the error names the flag. */
export function integerOption(flag: string, { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = {}) {
  return (text: string): number => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new InvalidArgumentError(`${flag} must be an integer between ${min} and ${max}, got "${text}"`);
    }
    return value;
  };
}

/** A commander option parser for finite numbers in [min, max]; the error names the flag. */
export function numberOption(flag: string, { min = -Infinity, max = Infinity } = {}) {
  return (text: string): number => {
    const value = Number(text);
    if (text.trim() === "" || !Number.isFinite(value) || value < min || value > max) {
      throw new InvalidArgumentError(`${flag} must be a number between ${min} and ${max}, got "${text}"`);
    }
    return value;
  };
}

/** A commander option parser for a comma-separated list drawn from `choices`; the error names the flag and the item. */
export function choiceListOption<T extends string>(flag: string, choices: readonly T[]) {
  return (text: string): T[] => {
    const items = text.split(",").map((item) => item.trim());
    for (const item of items) {
      if (!choices.includes(item as T)) {
        throw new InvalidArgumentError(`${flag} takes ${choices.join(", ")}, got "${item}"`);
      }
    }
    return items as T[];
  };
}

/**
 * A commander option parser that keeps the text as given after `check` accepts it; a toolkit error
 * from `check` (ConfigError, ModelSpecError, ...) becomes a usage error naming the flag.
 */
export function checkedOption({ flag, check }: { flag: string; check: (text: string) => unknown }) {
  return (text: string): string => {
    try {
      check(text);
    } catch (error) {
      if (error instanceof StableAlignmentError) {
        throw new InvalidArgumentError(error.message.includes(flag) ? error.message : `${flag}: ${error.message}`);
      }
      throw error;
    }
    return text;
  };
}

/** A commander option parser for model spec strings: a malformed spec is a usage error naming the flag. */
export function modelSpecOption(flag: string) {
  return checkedOption({ flag, check: parseModelSpec });
}

/** A commander option parser for embedder specs (`lexical`, `openai:<model>[@url]`, `gguf:<path>`). */
export function embeddingSpecOption(flag: string) {
  return checkedOption({ flag, check: parseEmbeddingSpec });
}
