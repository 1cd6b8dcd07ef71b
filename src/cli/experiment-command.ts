/**
 * `stable-alignment experiment run <recipe.yaml>` and `experiment plan <recipe.yaml>`: a whole study
 * (societies, data, training, evaluation, generations) from one recipe (src/experiment). This file
 * reads the environment's secrets and the config, prints progress lines, and stops cleanly on SIGINT
 * or SIGTERM (the interrupted node resumes on the next run).
 */
import { setMaxListeners } from "node:events";
import { resolve } from "node:path";
import { type Command, Option } from "commander";
import { planNodes } from "../experiment/experiment-nodes.js";
import { formatExperimentPlan, planExperiment, startModelParameters } from "../experiment/experiment-plan.js";
import { type ExperimentEvent, runExperiment } from "../experiment/experiment-runner.js";
import { loadRecipe } from "../experiment/recipe.js";
import { createSocietyCostEstimator } from "../experiment/society-estimate.js";
import { CancelledError } from "../spec/errors.js";
import { createCliContext } from "./cli-context.js";
import { modelFactorySettings } from "./model-factory.js";
import { checkOutputPath } from "./output-path.js";

interface ExperimentOptions {
  out?: string;
  resume?: boolean;
  allowTestModels?: boolean;
}

/** `runs/experiment-<recipe file name>` unless `--out` says otherwise. */
function outOf(recipeFile: string, options: ExperimentOptions): string {
  const name =
    recipeFile
      .replace(/\\/g, "/")
      .split("/")
      .at(-1)
      ?.replace(/\.ya?ml$/, "") ?? "recipe";
  return checkOutputPath({ path: options.out ?? `runs/experiment-${name}`, flag: "--out", kind: "directory" });
}

function describe(event: ExperimentEvent): string | undefined {
  switch (event.type) {
    case "plan":
      return `experiment: ${event.nodes} nodes, ${event.complete} already complete`;
    case "node-skip":
      return `skip ${event.node.name} (${event.node.hash}): complete`;
    case "node-start":
      return `${event.resumed ? "resume" : "run"} ${event.node.name} (${event.node.hash})`;
    case "node-done":
      return `done ${event.node.name} in ${event.marker.seconds.toFixed(1)} s`;
    case "report":
      return undefined;
  }
}

/** Registers `experiment run` and `experiment plan`. */
export function registerExperimentCommand(program: Command): void {
  const experiment = program
    .command("experiment")
    .description("whole studies from one recipe: societies, data, training, evaluation, generations");
  experiment
    .command("run")
    .description("run a recipe; a rerun skips finished nodes and resumes the interrupted one")
    .argument("<recipe>", "the recipe YAML file")
    .option("--out <dir>", "experiment directory (default runs/experiment-<recipe name>)")
    .option("--resume", "the experiment directory must exist (continue it)")
    .addOption(new Option("--allow-test-models", "accept scripted: test models").hideHelp())
    .action(async (recipeFile: string, options: ExperimentOptions, command: Command) => {
      const context = createCliContext(command);
      const recipe = loadRecipe({ file: resolve(recipeFile) });
      const out = resolve(outOf(recipeFile, options));
      const abort = new AbortController();
      // Every call in flight listens on the one signal; hundreds at once are expected, not a leak.
      setMaxListeners(0, abort.signal);
      const stop = () => abort.abort();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      try {
        await runExperiment({
          recipe,
          out,
          requireExisting: options.resume === true,
          models: modelFactorySettings(context, { allowTestModels: options.allowTestModels === true }),
          onEvent: (event) => {
            const line = describe(event);
            if (line !== undefined) context.stdout.write(`${line}\n`);
          },
          signal: abort.signal,
        });
        context.stdout.write(`report: ${out}/report.md, ${out}/report.html\n`);
      } catch (error) {
        if (error instanceof CancelledError) {
          throw new CancelledError(`stopped; rerun \`experiment run ${recipeFile} --out ${out}\` to resume`);
        }
        throw error;
      } finally {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
      }
    });
  experiment
    .command("plan")
    .description("what a run would do: nodes to run or skip, LM calls, tokens and USD, expected time")
    .argument("<recipe>", "the recipe YAML file")
    .option("--out <dir>", "experiment directory to compare with (default runs/experiment-<recipe name>)")
    .action(async (recipeFile: string, options: ExperimentOptions, command: Command) => {
      const context = createCliContext(command);
      const recipe = loadRecipe({ file: resolve(recipeFile) });
      const out = resolve(outOf(recipeFile, options));
      const nodes = planNodes({ recipe: recipe.recipe, recipeDirectory: recipe.directory, out });
      const plan = await planExperiment({
        recipe: recipe.recipe,
        nodes,
        parameters: await startModelParameters(recipe.recipe, recipe.directory),
        estimateSociety: createSocietyCostEstimator({
          recipe: recipe.recipe,
          recipeDirectory: recipe.directory,
          models: modelFactorySettings(context),
        }),
      });
      context.stdout.write(formatExperimentPlan(plan));
    });
}
