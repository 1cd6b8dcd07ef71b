/**
 * Experiment runner: `npm run experiment -- <name> [args...]` runs experiments/<name>.ts, whose default
 * export is `async (args: string[]) => void`. Experiments are not tests: they read ../shared/data in
 * place, write models under runs/ (git-ignored) and small result files under experiments/results/.
 * Helper modules of an experiment are named `<experiment>-<part>.ts` and export no default runner.
 */
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { runNamedScript } from "../scripts/run-named-script.js";
import { StableAlignmentError } from "../src/spec/errors.js";

await runNamedScript({
  directory: dirname(fileURLToPath(import.meta.url)),
  command: "experiment",
  skipHelpers: true,
  onError: (_name, error) => {
    // Expected failures (bad flags, bad data) are one line; anything else keeps its stack.
    if (!(error instanceof StableAlignmentError)) throw error;
    process.stderr.write(`error: ${error.message}\n`);
    process.exit(1);
  },
});
