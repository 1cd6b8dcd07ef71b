/**
 * Anthropic HH-RLHF (MIT) preference pairs for `hh-harmless` and `hh-helpful`: JSON lines (gzip read
 * directly) of `{chosen, rejected}` full dialogues, each made a preference item by the foundations'
 * `hhPreferenceItem` (the final assistant turn scored after the dialogue before it). Pairs it refuses
 * (identical, no final assistant turn) are skipped and counted.
 */
import { readJsonValues } from "../data/json-values-reader.js";
import { hhPreferenceItem, type PreferenceItem } from "../data/preference-accuracy.js";
import { InputError } from "../spec/errors.js";

/** The preference items of an HH-RLHF file (`line-<n>` ids) and the number of pairs skipped. */
export async function readHhPreferencePairs({
  path,
}: {
  path: string;
}): Promise<{ items: PreferenceItem[]; skipped: number }> {
  const items: PreferenceItem[] = [];
  let skipped = 0;
  for await (const { value, line } of readJsonValues({ path })) {
    const { chosen, rejected } = (value ?? {}) as { chosen?: unknown; rejected?: unknown };
    for (const [field, text] of [
      ["chosen", chosen],
      ["rejected", rejected],
    ] as const) {
      if (typeof text !== "string") throw new InputError(`missing field "${field}" (a string)`, { file: path, line });
    }
    const result = hhPreferenceItem({ id: `line-${line}`, chosen: chosen as string, rejected: rejected as string });
    if ("item" in result) items.push(result.item);
    else skipped += 1;
  }
  return { items, skipped };
}
