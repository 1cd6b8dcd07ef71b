/**
 * The `stable-alignment` command. Each command lives in its own file and registers itself on the
 * program; this file wires them together and turns thrown errors into one clear line and an exit code.
 */
import { Command, CommanderError } from "commander";
import { StableAlignmentError } from "../spec/errors.js";
import { registerCommands } from "./commands.js";

/** Builds the program with every command registered; exported so tests can run commands in process. */
export function createProgram(): Command {
  const program = new Command("stable-alignment")
    .description("Simulate a society of LM agents, build alignment data from it, train and evaluate models.")
    .option("--config <file>", "configuration file (default: ./stable-alignment.config.yaml when present)")
    .showHelpAfterError()
    .exitOverride();
  registerCommands(program);
  return program;
}

/** Exit codes: 0 success, 1 failure, 2 usage error. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const program = createProgram();
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (error) {
    return reportError(error);
  }
}

function reportError(error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander already printed its message (or the help/version text).
    return error.exitCode === 0 ? 0 : 2;
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
