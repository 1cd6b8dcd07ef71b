/**
 * The Back-Scatter prompts (SPEC 1.6), one versioned template file per prompt in `builtin/`
 * (`draft.v1.txt`, ...): the agents' prompts and the rating rubrics (observer alignment and
 * engagement, peer rating), here below the simulation so evaluation can use the same rubrics. A
 * user overrides any of them by putting `<name>.txt` (or `<name>.v<N>.txt`) in a directory passed as
 * `overrideDirectory`; the run's config records which file and content hash each prompt came from, so
 * a study can name the exact wording it used.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError } from "../../spec/errors.js";
import { parseTemplate, type Template, type TemplateScope } from "./template.js";

/** The prompts of one interaction. */
export const PROMPT_NAMES = [
  "agent-system",
  "draft",
  "peer-rating",
  "observer-alignment",
  "observer-engagement",
  "revision",
] as const;
export type PromptName = (typeof PROMPT_NAMES)[number];

/** The variables each prompt may use; an override that uses any other name is rejected at load. */
export const PROMPT_VARIABLES: Record<PromptName, readonly string[]> = {
  "agent-system": ["agent_id"],
  draft: ["agent_id", "question", "memory_question", "memory_answer"],
  "peer-rating": ["agent_id", "centre_id", "question", "draft_answer", "memory_question", "memory_answer"],
  "observer-alignment": ["question", "answer"],
  "observer-engagement": ["question", "answer"],
  revision: [
    "agent_id",
    "question",
    "draft_answer",
    "has_rating",
    "mean_rating",
    "rating_count",
    "score_only",
    "feedback",
  ],
};

/** Where one prompt came from: the built-in file or a user's override. */
export interface PromptProvenance {
  /** `v1`, ... for built-in files; `user` (or the override file's version) for overrides. */
  version: string;
  /** `builtin` or `override`. */
  origin: "builtin" | "override";
  /** The file name. */
  file: string;
  /** sha256 of the file's text, hex. */
  sha256: string;
}

/** Loaded prompt templates. */
export interface PromptTemplates {
  /** Renders a prompt; the result has trailing whitespace removed. */
  render(name: PromptName, scope: TemplateScope): string;
  /** Provenance of every prompt, for config.json. */
  readonly provenance: Record<PromptName, PromptProvenance>;
}

/**
 * The directory of the built-in prompt files for a module in `moduleDirectory`: `builtin/` beside
 * the module in a checkout (`src/llm/prompts/builtin`), and in the installed package, where the
 * compiled module is `dist/llm/prompts/prompt-templates.js` and the text files ship under `src/`,
 * `src/llm/prompts/builtin` from the package root. Default: this module's directory.
 */
export function builtinPromptDirectory({
  moduleDirectory = dirname(fileURLToPath(import.meta.url)),
}: {
  moduleDirectory?: string;
} = {}): string {
  const candidates = [
    join(moduleDirectory, "builtin"),
    join(moduleDirectory, "..", "..", "..", "src", "llm", "prompts", "builtin"),
  ];
  return candidates.find((directory) => existsSync(directory)) ?? (candidates[0] as string);
}

/** The directory of the built-in prompt files (see {@link builtinPromptDirectory}). */
export const BUILTIN_PROMPT_DIRECTORY = builtinPromptDirectory();

function findVersioned(directory: string, name: string): { file: string; version: string } | undefined {
  if (!existsSync(directory)) return undefined;
  let best: { file: string; version: string; number: number } | undefined;
  for (const file of readdirSync(directory)) {
    if (file === `${name}.txt` && best === undefined) best = { file, version: "user", number: 0 };
    const match = /^(.+)\.v(\d+)\.txt$/.exec(file);
    if (match?.[1] === name) {
      const number = Number(match[2]);
      if (best === undefined || number > best.number) best = { file, version: `v${number}`, number };
    }
  }
  return best && { file: best.file, version: best.version };
}

/** A file in the override directory that names no prompt would silently change nothing: refuse it. */
function rejectUnknownPromptFiles(directory: string): void {
  if (!statSync(directory).isDirectory()) {
    throw new ConfigError(`prompt directory ${directory} is not a directory`, { field: "prompts", file: directory });
  }
  const names = new Set<string>(PROMPT_NAMES);
  for (const file of readdirSync(directory)) {
    if (file.startsWith(".")) continue;
    const match = /^(.+?)(?:\.v\d+)?\.txt$/.exec(file);
    if (match?.[1] !== undefined && names.has(match[1])) continue;
    throw new ConfigError(
      `${join(directory, file)}: names no prompt; prompt files are <name>.txt or <name>.v<N>.txt with <name> one of ${PROMPT_NAMES.join(", ")}`,
      { field: "prompts", file: join(directory, file) },
    );
  }
}

/**
 * Loads every prompt: the newest built-in version, replaced by the override directory's file where
 * one exists. Throws ConfigError when the override directory is missing, holds a file that names no
 * prompt, or a template is malformed or uses a variable its prompt does not have.
 */
export function loadPromptTemplates({
  overrideDirectory,
  builtinDirectory = BUILTIN_PROMPT_DIRECTORY,
}: {
  /** Directory with user prompt files; default none. */
  overrideDirectory?: string;
  builtinDirectory?: string;
} = {}): PromptTemplates {
  if (overrideDirectory !== undefined && !existsSync(overrideDirectory)) {
    throw new ConfigError(`prompt directory ${overrideDirectory} does not exist`, {
      field: "prompts",
      file: overrideDirectory,
    });
  }
  if (overrideDirectory !== undefined) rejectUnknownPromptFiles(overrideDirectory);
  const templates = new Map<PromptName, Template>();
  const provenance = {} as Record<PromptName, PromptProvenance>;
  for (const name of PROMPT_NAMES) {
    const override = overrideDirectory === undefined ? undefined : findVersioned(overrideDirectory, name);
    const builtin = findVersioned(builtinDirectory, name);
    const chosen = override ?? builtin;
    if (chosen === undefined) {
      throw new ConfigError(`no template file for prompt "${name}" in ${builtinDirectory}`, { field: "prompts" });
    }
    const directory = override === undefined ? builtinDirectory : (overrideDirectory as string);
    const path = join(directory, chosen.file);
    const text = readFileSync(path, "utf8");
    const template = parseTemplate(text, { source: path });
    const allowed = new Set(PROMPT_VARIABLES[name]);
    for (const used of template.names) {
      if (!allowed.has(used)) {
        throw new ConfigError(
          `${path}: prompt "${name}" has no variable "${used}"; available: ${[...allowed].join(", ")}`,
          { file: path, field: used },
        );
      }
    }
    templates.set(name, template);
    provenance[name] = {
      version: chosen.version,
      origin: override === undefined ? "builtin" : "override",
      file: chosen.file,
      sha256: createHash("sha256").update(text).digest("hex"),
    };
  }
  return {
    provenance,
    render(name: PromptName, scope: TemplateScope): string {
      const template = templates.get(name);
      if (template === undefined) throw new ConfigError(`unknown prompt "${name}"`, { field: "prompts" });
      return template.render(scope).trimEnd();
    },
  };
}
