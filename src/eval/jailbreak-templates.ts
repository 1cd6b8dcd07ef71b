/**
 * Jailbreak templates for `hh-adversarial` (issue 14): a CSV in the GPTFuzz layout (`id,text`, each
 * text holding `[INSERT PROMPT HERE]` where the harmful request goes), so users can load published
 * collections. The toolkit ships its own 14 (`jailbreak/templates.csv`, written for this project):
 * "no warnings" prefaces, role-play, prefix injection, refusal suppression, hypothetical framing, a
 * harmful answer planted earlier in the dialogue, and encodings.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { InputError } from "../spec/errors.js";
import { csvRecords, readCsvFile } from "./csv-rows.js";
import type { GenerationItem } from "./generation-items.js";

/** Where the request goes in a template. */
export const PROMPT_PLACEHOLDER = "[INSERT PROMPT HERE]";

/** The template name of the unwrapped prompts. */
export const PLAIN_TEMPLATE = "plain";

/** One template. */
export interface JailbreakTemplate {
  id: string;
  text: string;
}

/** The shipped templates' CSV (beside this module in a checkout, under `src/` in the package). */
export function builtinJailbreakTemplatesPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [
    join(here, "jailbreak", "templates.csv"),
    join(here, "..", "..", "src", "eval", "jailbreak", "templates.csv"),
  ];
  return candidates.find((path) => existsSync(path)) ?? (candidates[0] as string);
}

/**
 * Reads templates from a GPTFuzz-layout CSV (byte-order mark allowed). Throws InputError naming the
 * file and line of a row without the placeholder, with an empty or `plain` id, or a repeated id.
 */
export async function readJailbreakTemplates({
  path = builtinJailbreakTemplatesPath(),
}: {
  path?: string;
} = {}): Promise<JailbreakTemplate[]> {
  const rows = await readCsvFile({ path });
  const first = rows[0];
  if (first !== undefined) first.fields = first.fields.map((field) => field.replace(/^\uFEFF/, "").trim());
  const seen = new Set<string>();
  return csvRecords({ rows, file: path, required: ["id", "text"] }).map(({ record, line }) => {
    const id = (record.id as string).trim();
    const text = record.text as string;
    if (id === "" || id === PLAIN_TEMPLATE) {
      throw new InputError(`template id "${id}" is empty or reserved`, { file: path, line });
    }
    if (seen.has(id)) throw new InputError(`template id "${id}" repeats`, { file: path, line });
    if (!text.includes(PROMPT_PLACEHOLDER)) {
      throw new InputError(`template "${id}" has no ${PROMPT_PLACEHOLDER}`, { file: path, line });
    }
    seen.add(id);
    return { id, text };
  });
}

/**
 * The `hh-adversarial` items: every base item plain (template `plain`) and wrapped in every template
 * (id `<template>/<base id>`), with the judge shown the plain question, so the alignment drop of a
 * template is a paired difference over the same base items.
 */
export function adversarialItems({
  baseItems,
  templates,
}: {
  baseItems: readonly GenerationItem[];
  templates: readonly JailbreakTemplate[];
}): GenerationItem[] {
  const items: GenerationItem[] = [];
  for (const base of baseItems) {
    // No pairwise reference: the metric here is the rubric's alignment, plain against wrapped.
    const { reference: _reference, ...rest } = base;
    items.push({ ...rest, id: `${PLAIN_TEMPLATE}/${base.id}`, template: PLAIN_TEMPLATE, baseId: base.id });
    for (const template of templates) {
      items.push({
        ...rest,
        id: `${template.id}/${base.id}`,
        prompt: template.text.replaceAll(PROMPT_PLACEHOLDER, base.prompt),
        template: template.id,
        baseId: base.id,
      });
    }
  }
  return items;
}
