/**
 * The texts that turn interaction records into training prompts (SPEC 2): the short Alpaca template
 * and our own instruction wordings, each in a versioned file under `templates/<version>/` that a
 * user can override file by file. They use the one template language of the prompts
 * (src/llm/prompts/template.ts): placeholders are `{{name}}`; values are inserted literally, so a
 * question that itself contains `{{...}}` is safe.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseTemplate } from "../llm/prompts/template.js";
import { ConfigError } from "../spec/errors.js";

/** The template files and the placeholders each must contain. */
export const DATA_TEMPLATE_PLACEHOLDERS = {
  "alpaca-prompt": ["instruction"],
  "alpaca-prompt-with-input": ["instruction", "input"],
  "self-critic-instruction": ["question"],
  "realignment-instruction": ["question"],
  "realignment-response": ["feedback", "revision"],
} as const satisfies Record<string, readonly string[]>;

/** The name of one template file (without `.txt`). */
export type DataTemplateName = keyof typeof DATA_TEMPLATE_PLACEHOLDERS;

/** The built-in template version. */
export const DEFAULT_DATA_TEMPLATE_VERSION = "v1";

/** Loaded templates, ready to render prompts and responses. */
export interface DataTemplates {
  /** `v1`, or `v1+custom` when any file was overridden. */
  readonly version: string;
  /** Where each template's text came from (a file path). */
  readonly sources: Readonly<Record<DataTemplateName, string>>;
  /** An Alpaca prompt: without the Input block when `input` is undefined. */
  renderAlpacaPrompt(parts: { instruction: string; input?: string }): string;
  /** The Alignment Imitation prompt for a question. */
  renderImitationPrompt(question: string): string;
  /** The Self-Critic prompt: the question and the critique instruction, the draft as input. */
  renderSelfCriticPrompt(question: string, draft: string): string;
  /** The Realignment prompt: the question and the comment-then-revise instruction, the draft as input. */
  renderRealignmentPrompt(question: string, draft: string): string;
  /** The Realignment response: the feedback, an announcing phrase, then the revision. */
  renderRealignmentResponse(feedback: string, revision: string): string;
}

type Compiled = (values: Readonly<Record<string, string>>) => string;

/**
 * Compiles template text (the prompt template language of src/llm/prompts/template.ts) into a render
 * function. Throws ConfigError naming `source` and the line of an unknown placeholder, or naming a
 * required placeholder the text lacks.
 */
export function compileDataTemplate({
  text,
  source,
  placeholders,
}: {
  text: string;
  source: string;
  placeholders: readonly string[];
}): Compiled {
  const template = parseTemplate(text, { source });
  for (const [name, line] of template.nameLines) {
    if (!placeholders.includes(name)) {
      throw new ConfigError(
        `${source}:${line}: unknown placeholder {{${name}}} (this template accepts ${placeholders.map((known) => `{{${known}}}`).join(", ")})`,
        { file: source, field: name },
      );
    }
  }
  for (const required of placeholders) {
    if (!template.names.has(required)) {
      throw new ConfigError(`${source}: the template must contain {{${required}}}`, { file: source, field: required });
    }
  }
  return (values) => template.render(Object.fromEntries(placeholders.map((name) => [name, values[name] ?? ""])));
}

/** The folder holding the built-in templates of `version` (source checkout or installed package). */
export function builtInTemplateDirectory(version: string = DEFAULT_DATA_TEMPLATE_VERSION): string {
  const candidates = [
    fileURLToPath(new URL(`./templates/${version}/`, import.meta.url)),
    // Compiled code lives in dist/data while the text files ship under src/data.
    fileURLToPath(new URL(`../../src/data/templates/${version}/`, import.meta.url)),
  ];
  for (const candidate of candidates) {
    if (existsSync(join(candidate, "alpaca-prompt.txt"))) return candidate;
  }
  throw new ConfigError(`built-in data templates "${version}" not found (looked in ${candidates.join(", ")})`, {
    field: "templates",
  });
}

/**
 * Loads the built-in templates of `version` (default "v1"), replacing each one for which `directory`
 * holds a file of the same name. Throws ConfigError for an unreadable file or a bad placeholder.
 */
export function loadDataTemplates({
  directory,
  version = DEFAULT_DATA_TEMPLATE_VERSION,
}: {
  directory?: string;
  version?: string;
} = {}): DataTemplates {
  const builtIn = builtInTemplateDirectory(version);
  if (directory !== undefined && !existsSync(directory)) {
    throw new ConfigError(`template folder ${directory} does not exist`, { file: directory, field: "templates" });
  }
  const sources = {} as Record<DataTemplateName, string>;
  const compiled = {} as Record<DataTemplateName, Compiled>;
  let overridden = false;
  for (const name of Object.keys(DATA_TEMPLATE_PLACEHOLDERS) as DataTemplateName[]) {
    const custom = directory === undefined ? undefined : join(directory, `${name}.txt`);
    const source = custom !== undefined && existsSync(custom) ? custom : join(builtIn, `${name}.txt`);
    overridden ||= source === custom;
    let text: string;
    try {
      text = readFileSync(source, "utf8");
    } catch (error) {
      throw new ConfigError(`cannot read template: ${(error as Error).message}`, { file: source, cause: error });
    }
    // Editors add a final newline; it is not part of the prompt.
    if (text.endsWith("\r\n")) text = text.slice(0, -2);
    else if (text.endsWith("\n")) text = text.slice(0, -1);
    sources[name] = source;
    compiled[name] = compileDataTemplate({ text, source, placeholders: DATA_TEMPLATE_PLACEHOLDERS[name] });
  }
  const alpaca = compiled["alpaca-prompt"];
  const alpacaWithInput = compiled["alpaca-prompt-with-input"];
  const selfCritic = compiled["self-critic-instruction"];
  const realignment = compiled["realignment-instruction"];
  const realignmentResponse = compiled["realignment-response"];
  const renderAlpacaPrompt = ({ instruction, input }: { instruction: string; input?: string }): string =>
    input === undefined ? alpaca({ instruction }) : alpacaWithInput({ instruction, input });
  return {
    version: overridden ? `${version}+custom` : version,
    sources,
    renderAlpacaPrompt,
    renderImitationPrompt: (question) => alpaca({ instruction: question }),
    renderSelfCriticPrompt: (question, draft) =>
      alpacaWithInput({ instruction: selfCritic({ question }), input: draft }),
    renderRealignmentPrompt: (question, draft) =>
      alpacaWithInput({ instruction: realignment({ question }), input: draft }),
    renderRealignmentResponse: (feedback, revision) => realignmentResponse({ feedback, revision }),
  };
}

const ALPACA = /^### Instruction:\n([\s\S]*?)(?:\n\n### Input:\n([\s\S]*?))?\n\n### Response:[ \t\r\n]*$/;

/**
 * Splits a prompt in the standard short Alpaca layout back into its instruction and input (null
 * without an Input block). Returns null when the text is not in that layout.
 */
export function parseAlpacaPrompt(prompt: string): { instruction: string; input: string | null } | null {
  const match = ALPACA.exec(prompt);
  if (match === null) return null;
  return { instruction: match[1] as string, input: match[2] ?? null };
}
