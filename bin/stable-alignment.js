#!/usr/bin/env node
// Runs the compiled CLI when it exists (installed package), else the TypeScript source through tsx (a checkout).
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
const compiled = join(root, "dist", "cli", "main.js");
let entry = compiled;
if (!existsSync(compiled)) {
  const { register } = await import("tsx/esm/api");
  register();
  entry = join(root, "src", "cli", "main.ts");
}
const { runCli } = await import(pathToFileURL(entry).href);
process.exitCode = await runCli(process.argv);
