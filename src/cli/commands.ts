import type { Command } from "commander";
import { registerDevCommand } from "./dev-command.js";
import { registerDoctorCommand } from "./doctor-command.js";
import { registerGenerateCommand } from "./generate-command.js";

/** Registers every command on the program. Each command's file exports one `register*` function. */
export function registerCommands(program: Command): void {
  registerDoctorCommand(program);
  registerGenerateCommand(program);
  registerDevCommand(program);
}
