import type { Command } from "commander";
import { ConfigError } from "../spec/errors.js";
import { resolveCacheDirectory } from "./cache-directory.js";
import type { Config } from "./load-config.js";
import { loadConfig } from "./load-config.js";

/** What every command needs from the outside world; the only place env is read. */
export interface CliContext {
  config: Config;
  /** The config file that was read, if any. */
  configFile: string | undefined;
  cacheDirectory: string;
  environment: NodeJS.ProcessEnv;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** Loads the configuration named by the program's `--config` (or the default file) and resolves the cache. */
export function createCliContext(command: Command, environment: NodeJS.ProcessEnv = process.env): CliContext {
  const root = rootOf(command);
  const { config, file } = loadConfig({ file: root.opts<{ config?: string }>().config });
  return {
    config,
    configFile: file,
    cacheDirectory: resolveCacheDirectory({ environment, configured: config.cacheDirectory }),
    environment,
    stdout: process.stdout,
    stderr: process.stderr,
  };
}

/**
 * A command's options with config defaults filled in: a flag given on the command line wins, then
 * `commands.<name>.<option>` from the config file, then the flag's own default.
 */
export function resolveCommandOptions<T extends Record<string, unknown>>(command: Command, context: CliContext): T {
  const options = { ...command.opts<T>() } as Record<string, unknown>;
  const name = commandPath(command);
  const fromConfig = context.config.commands?.[name] ?? {};
  const known = new Set(command.options.map((option) => option.attributeName()));
  for (const [key, value] of Object.entries(fromConfig)) {
    if (!known.has(key)) {
      throw new ConfigError(
        `${context.configFile ?? "config"}: field "commands.${name}.${key}": "${name}" has no option "${key}" (known: ${[...known].join(", ")})`,
        { field: `commands.${name}.${key}`, file: context.configFile },
      );
    }
    const source = command.getOptionValueSource(key);
    if (source === undefined || source === "default") options[key] = value;
  }
  return options as T;
}

function rootOf(command: Command): Command {
  let current = command;
  while (current.parent) current = current.parent;
  return current;
}

/** `simulate`, `data build`, ...: the command's name below the program. */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let current: Command | null = command; current?.parent; current = current.parent) names.unshift(current.name());
  return names.join(" ");
}
