/**
 * Benchmark runner: `npm run bench -- <name> [args...]` runs bench/<name>.ts, whose default export is
 * `async (args: string[]) => void`. Each benchmark measures its own baseline in the same run and prints
 * the ratio; none asserts on time. A bench that throws (bad flag, or its two sides computing different
 * things) prints one line `bench <name>: <message>` and exits 1.
 */
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { runNamedScript } from "../scripts/run-named-script.js";

await runNamedScript({
  directory: dirname(fileURLToPath(import.meta.url)),
  command: "bench",
  onError: (name, error) => {
    process.stderr.write(`bench ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
});
