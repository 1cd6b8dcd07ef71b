#!/usr/bin/env node
// In a checkout (src/cli/main.ts present) runs the TypeScript source through tsx, so an edit is never
// shadowed by an older dist/ that `npm ci` built through `prepare`; an installed package runs dist/.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

// A reader that stops early (`| head`) is not an error: exit quietly instead of crashing on EPIPE.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error) => {
    if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw error;
  });
}

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const source = join(root, "src", "cli", "main.ts");
let entry = join(root, "dist", "cli", "main.js");
if (existsSync(source)) {
  const { register } = await import("tsx/esm/api");
  register();
  entry = source;
}
const { runCli } = await import(pathToFileURL(entry).href);
process.exitCode = await runCli(process.argv);
