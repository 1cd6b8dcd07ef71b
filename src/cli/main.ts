/**
 * The `stable-alignment` command. Each command lives in its own file and registers itself on the
 * program; this file wires them together and turns thrown errors into one clear line and an exit code.
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { StableAlignmentError, UsageError } from "../spec/errors.js";
import { registerCommands } from "./commands.js";

/** The package version, read from package.json (two folders up from both src/cli and dist/cli). */
export const PACKAGE_VERSION = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }
).version;

/** Builds the program with every command registered; exported so tests can run commands in process. */
export function createProgram(): Command {
  const program = new Command("stable-alignment")
    .description(
      "Simulate a society of LM agents, build alignment data from its records, train models on it (Stable Alignment, SFT, DPO, RRHF), evaluate them, and create, convert and run models.",
    )
    .version(PACKAGE_VERSION, "--version", "print the version")
    .option("--config <file>", "configuration file (default: ./stable-alignment.config.yaml when present)")
    .exitOverride();
  registerCommands(program);
  addUsageHints(program);
  return program;
}

/** After a usage error every command prints the error and one line pointing at its own `--help`. */
function addUsageHints(command: Command): void {
  command.showHelpAfterError(usageHint(command));
  for (const subcommand of command.commands) addUsageHints(subcommand);
}

function usageHint(command: Command): string {
  return `(run "${commandPath(command)} --help" for usage)`;
}

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let current: Command | null = command; current; current = current.parent) names.unshift(current.name());
  return names.join(" ");
}

/** Exit codes: 0 success, 1 failure, 2 usage error (a bad flag, value or command name). */
export async function runCli(argv: readonly string[]): Promise<number> {
  const program = createProgram();
  // The command whose action runs, so a UsageError it throws points at that command's help.
  let active: Command = program;
  program.hook("preAction", (_program, actionCommand) => {
    active = actionCommand;
  });
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (error) {
    return reportError(error, active);
  }
}

function reportError(error: unknown, active: Command): number {
  if (error instanceof CommanderError) {
    // Commander already printed its message and the usage hint (or the help/version text).
    return error.exitCode === 0 ? 0 : 2;
  }
  if (error instanceof UsageError) {
    process.stderr.write(`error: ${error.message}\n${usageHint(active)}\n`);
    return 2;
  }
  if (error instanceof StableAlignmentError) {
    process.stderr.write(`error: ${error.message}\n`);
    return 1;
  }
  process.stderr.write(
    `error: unexpected failure (a bug; please report it):\n${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  return 1;
}
