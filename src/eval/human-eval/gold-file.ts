/**
 * A user's own gold pairs (`human-eval create --gold-file`): JSON Lines, one pair a line,
 * `{"question": ..., "better": ..., "worse": ..., "id"?: ...}`. Bad input is one InputError naming
 * the file, the line and the field.
 */
import { readJsonValues } from "../../data/json-values-reader.js";
import { InputError } from "../../spec/errors.js";
import type { GoldPair } from "./gold-pairs.js";

/** Reads and validates a gold file; ids default to `<file name>-<line>`. */
export async function readGoldFile({ path }: { path: string }): Promise<GoldPair[]> {
  const pairs: GoldPair[] = [];
  const seen = new Set<string>();
  for await (const { value, line } of readJsonValues({ path })) {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new InputError("a gold pair must be an object with question, better and worse", { file: path, line });
    }
    const record = value as Record<string, unknown>;
    const text = (field: string): string => {
      const found = record[field];
      if (typeof found !== "string" || found.trim() === "") {
        throw new InputError(`field "${field}" ${found === undefined ? "is missing" : "must be a non-empty string"}`, {
          file: path,
          line,
        });
      }
      return found;
    };
    const question = text("question");
    const better = text("better");
    const worse = text("worse");
    if (better === worse) throw new InputError('fields "better" and "worse" are the same text', { file: path, line });
    const id = record.id === undefined ? `gold-file-${line}` : text("id");
    if (seen.has(id)) throw new InputError(`field "id" repeats ${JSON.stringify(id)}`, { file: path, line });
    seen.add(id);
    pairs.push({ id, question, better, worse });
  }
  if (pairs.length === 0) throw new InputError("holds no gold pair", { file: path });
  return pairs;
}
