import { InvalidArgumentError } from "commander";
import { parseModelSpec } from "../llm/model-spec.js";
import { ModelSpecError } from "../spec/errors.js";

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

/** A commander option parser for model spec strings: a malformed spec is a usage error naming the flag. */
export function modelSpecOption(flag: string) {
  return (text: string): string => {
    try {
      parseModelSpec(text);
    } catch (error) {
      if (error instanceof ModelSpecError) throw new InvalidArgumentError(`${flag}: ${error.message}`);
      throw error;
    }
    return text;
  };
}
