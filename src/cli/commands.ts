import type { Command } from "commander";
import { registerDataCommand } from "./data-command.js";
import { registerDevCommand } from "./dev-command.js";
import { registerDoctorCommand } from "./doctor-command.js";
import { registerEvalCommand } from "./eval-command.js";
import { registerExperimentCommand } from "./experiment-command.js";
import { registerGenerateCommand } from "./generate-command.js";
import { registerHumanEvalCommand } from "./human-eval-command.js";
import { registerModelCommand } from "./model-command.js";
import { registerScoreCommand } from "./score-command.js";
import { registerServeCommand } from "./serve-command.js";
import { registerSimulateCommand } from "./simulate-command.js";
import { registerTrainCommand } from "./train-command.js";

/** Registers every command on the program. Each command's file exports one `register*` function. */
export function registerCommands(program: Command): void {
  registerSimulateCommand(program);
  registerDataCommand(program);
  registerTrainCommand(program);
  registerEvalCommand(program);
  registerExperimentCommand(program);
  registerHumanEvalCommand(program);
  registerModelCommand(program);
  registerGenerateCommand(program);
  registerScoreCommand(program);
  registerServeCommand(program);
  registerDoctorCommand(program);
  registerDevCommand(program);
}
