/**
 * Experiment runner: `npm run experiment -- <name> [args...]` runs experiments/<name>.ts, whose default
 * export is `async (args: string[]) => void`. Experiments are not tests: they read ../shared/data in
 * place, write models under runs/ (git-ignored) and small result files under experiments/results/.
 */
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { StableAlignmentError } from "../src/spec/errors.js";

const here = dirname(fileURLToPath(import.meta.url));
// Helper modules of an experiment are named `<experiment>-<part>.ts` and export no default runner.
const available = readdirSync(here)
  .filter((file) => file.endsWith(".ts") && file !== "run.ts" && !file.endsWith(".test.ts"))
  .map((file) => file.slice(0, -3))
  .filter((name, _, all) => !all.some((other) => other !== name && name.startsWith(`${other}-`)))
  .sort();

const [name, ...args] = process.argv.slice(2);
if (name === undefined || !available.includes(name)) {
  process.stderr.write(`usage: npm run experiment -- <name> [args]\navailable: ${available.join(", ")}\n`);
  process.exit(name === undefined ? 0 : 2);
}
const module = (await import(pathToFileURL(join(here, `${name}.ts`)).href)) as {
  default: (args: string[]) => Promise<void>;
};
try {
  await module.default(args);
} catch (error) {
  // Expected failures (bad flags, bad data) are one line; anything else keeps its stack.
  if (!(error instanceof StableAlignmentError)) throw error;
  process.stderr.write(`error: ${error.message}\n`);
  process.exit(1);
}
