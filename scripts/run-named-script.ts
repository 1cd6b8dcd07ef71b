/**
 * The one runner behind `npm run bench -- <name>` and `npm run experiment -- <name>`: runs
 * `<directory>/<name>.ts`, whose default export is `async (args: string[]) => void`, with the rest of
 * the command line; no name (or an unknown one) prints the usage and the available names.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

/** Options of {@link runNamedScript}. */
export interface RunNamedScriptOptions {
  /** The folder of the scripts (its `run.ts` and tests are not scripts). */
  directory: string;
  /** The npm script's name, for the usage line (`bench`, `experiment`). */
  command: string;
  /** Leave out helper modules named `<script>-<part>.ts`, which export no runner. Default false. */
  skipHelpers?: boolean;
  /** Reports a script's failure and exits; default: rethrow. */
  onError?: (name: string, error: unknown) => never;
}

/** Runs the script named by `process.argv[2]` (see the module comment). */
export async function runNamedScript({
  directory,
  command,
  skipHelpers = false,
  onError = (_name, error) => {
    throw error;
  },
}: RunNamedScriptOptions): Promise<void> {
  const names = readdirSync(directory)
    .filter((file) => file.endsWith(".ts") && file !== "run.ts" && !file.endsWith(".test.ts"))
    .map((file) => file.slice(0, -3));
  const available = (
    skipHelpers ? names.filter((name) => !names.some((other) => other !== name && name.startsWith(`${other}-`))) : names
  ).sort();
  const [name, ...args] = process.argv.slice(2);
  if (name === undefined || !available.includes(name)) {
    process.stderr.write(`usage: npm run ${command} -- <name> [args]\navailable: ${available.join(", ")}\n`);
    process.exit(name === undefined ? 0 : 2);
  }
  const module = (await import(pathToFileURL(join(directory, `${name}.ts`)).href)) as {
    default: (args: string[]) => Promise<void>;
  };
  try {
    await module.default(args);
  } catch (error) {
    onError(name, error);
  }
}
