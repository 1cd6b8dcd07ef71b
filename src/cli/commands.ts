import type { Command } from "commander";

/** Registers every command on the program. Each command's file exports one `register*` function. */
export function registerCommands(program: Command): void {
  void program;
}
