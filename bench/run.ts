/**
 * Benchmark runner: `npm run bench -- <name> [args...]` runs bench/<name>.ts, whose default export is
 * `async (args: string[]) => void`. Each benchmark measures its own baseline in the same run and prints
 * the ratio; none asserts on time. A bench that throws (bad flag, or its two sides computing different
 * things) prints one line `bench <name>: <message>` and exits 1.
 */
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((file) => file.endsWith(".ts") && file !== "run.ts" && !file.endsWith(".test.ts"))
  .map((file) => file.slice(0, -3))
  .sort();

const [name, ...args] = process.argv.slice(2);
if (name === undefined || !available.includes(name)) {
  process.stderr.write(`usage: npm run bench -- <name> [args]\navailable: ${available.join(", ")}\n`);
  process.exit(name === undefined ? 0 : 2);
}
const module = (await import(pathToFileURL(join(here, `${name}.ts`)).href)) as {
  default: (args: string[]) => Promise<void>;
};
try {
  await module.default(args);
} catch (error) {
  process.stderr.write(`bench ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
