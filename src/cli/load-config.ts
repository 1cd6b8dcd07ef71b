import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { ConfigError } from "../spec/errors.js";

const priceSchema = z.strictObject({
  prompt: z.number().nonnegative(),
  completion: z.number().nonnegative(),
});

/** The schema of `stable-alignment.config.yaml`. Every field is optional; flags override fields. */
export const configSchema = z.strictObject({
  /** Where models, datasets and downloads are cached (default: see `resolveCacheDirectory`). */
  cacheDirectory: z.string().optional(),
  /** Default model specs per role. */
  models: z
    .strictObject({
      agent: z.string().optional(),
      observer: z.string().optional(),
      embedder: z.string().optional(),
    })
    .optional(),
  /** Settings applied to every LM endpoint. */
  endpoints: z
    .strictObject({
      /** Most calls in flight per endpoint (the adaptive limiter starts here). */
      maxConcurrency: z.number().int().positive().optional(),
      /** Milliseconds before a call counts as hung and is retried. */
      timeoutMs: z.number().int().positive().optional(),
      /** Most attempts per call, the first included. */
      maxAttempts: z.number().int().positive().optional(),
    })
    .optional(),
  /** Stop work cleanly once this many US dollars have been spent. */
  budgetUsd: z.number().nonnegative().optional(),
  /** Prices in US dollars per million tokens, by model name; overrides the built-in table. */
  prices: z.record(z.string(), priceSchema).optional(),
  /** Defaults for the flags of a command, by command name, e.g. `simulate: { size: 4, rounds: 2 }`. */
  commands: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
});

export type Config = z.infer<typeof configSchema>;

/** The file read when `--config` is absent, if it exists in the current directory. */
export const DEFAULT_CONFIG_FILE = "stable-alignment.config.yaml";

/**
 * Loads and validates the configuration: `file` when given (it must exist), else
 * `./stable-alignment.config.yaml` when present, else an empty config. Errors name the file and field.
 */
export function loadConfig({ file, cwd = process.cwd() }: { file?: string; cwd?: string } = {}): {
  config: Config;
  file: string | undefined;
} {
  const path = file === undefined ? resolve(cwd, DEFAULT_CONFIG_FILE) : resolve(cwd, file);
  if (!existsSync(path)) {
    if (file !== undefined) throw new ConfigError(`config file ${file} does not exist`, { file });
    return { config: {}, file: undefined };
  }
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, "utf8"));
  } catch (cause) {
    throw new ConfigError(`${path}: not valid YAML: ${cause instanceof Error ? cause.message : String(cause)}`, {
      file: path,
      cause,
    });
  }
  const result = configSchema.safeParse(raw ?? {});
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue ? issue.path.join(".") : "";
    const unknownKeys = issue?.code === "unrecognized_keys" ? ` (${issue.keys.join(", ")})` : "";
    throw new ConfigError(`${path}: field "${field || "(root)"}": ${issue?.message ?? "invalid"}${unknownKeys}`, {
      field,
      file: path,
    });
  }
  return { config: result.data, file: path };
}
