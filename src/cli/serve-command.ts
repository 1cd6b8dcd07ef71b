import { spawn } from "node:child_process";
import { statSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import { UsageError } from "../spec/errors.js";
import { createHumanEvalRoutes, isHumanEvalPublicPath } from "../web/human-eval/human-eval-routes.js";
import { findStudyDirectories } from "../web/human-eval/study-directories.js";
import type { AccessPolicy } from "../web/security-middleware.js";
import { isLoopbackHost } from "../web/security-middleware.js";
import { startWebServer } from "../web/start-web-server.js";
import { createWebApp } from "../web/web-app.js";
import { integerOption } from "./option-parsers.js";

/** The environment variable holding the admin token required when `--host` is not a loopback address. */
export const ADMIN_TOKEN_VARIABLE = "STABLE_ALIGNMENT_ADMIN_TOKEN";

/** Fewest characters an admin token may have. */
const MINIMUM_TOKEN_LENGTH = 16;

/**
 * The access policy for `host`: loopback needs no token; any other address needs the admin token from
 * `environment` (refused in one line when unset or shorter than 16 characters). The token is never printed.
 */
export function accessPolicyFor({
  host,
  environment = process.env,
}: {
  host: string;
  environment?: NodeJS.ProcessEnv;
}): AccessPolicy {
  if (isLoopbackHost(host)) return { kind: "loopback" };
  const adminToken = environment[ADMIN_TOKEN_VARIABLE];
  if (adminToken === undefined || adminToken === "") {
    throw new UsageError(
      `--host ${host} is not a loopback address: set ${ADMIN_TOKEN_VARIABLE} to an admin token (at least ${MINIMUM_TOKEN_LENGTH} characters) that every request must carry`,
      { field: "--host" },
    );
  }
  if (adminToken.length < MINIMUM_TOKEN_LENGTH) {
    throw new UsageError(`${ADMIN_TOKEN_VARIABLE} must have at least ${MINIMUM_TOKEN_LENGTH} characters`, {
      field: ADMIN_TOKEN_VARIABLE,
    });
  }
  return { kind: "token", adminToken };
}

/** `stable-alignment serve`: the web app over run directories. */
export function registerServeCommand(program: Command): void {
  program
    .command("serve")
    .description("web app: the runs under --runs (simulation society live, interactions, rounds, training, evaluation)")
    .option("--runs <dir...>", "directories searched (3 levels deep) for run directories", ["."])
    .option("--port <n>", "TCP port (0 picks a free one)", integerOption("--port", { min: 0, max: 65535 }), 7860)
    .option(
      "--host <address>",
      `address to listen on; any non-loopback address requires ${ADMIN_TOKEN_VARIABLE}`,
      "127.0.0.1",
    )
    .option("--open", "open the app in the default browser")
    .action(async (options: { runs: string[]; port: number; host: string; open?: boolean }) => {
      // One stat per path; any failure to stat counts as missing (as existsSync would say).
      const runs = options.runs.map((directory) => {
        try {
          return { directory, stats: statSync(directory) };
        } catch {
          return { directory, stats: undefined };
        }
      });
      const missing = runs.find((run) => run.stats === undefined);
      if (missing !== undefined) {
        throw new UsageError(`--runs ${missing.directory}: no such directory`, { field: "--runs" });
      }
      const file = runs.find((run) => run.stats?.isDirectory() === false);
      if (file !== undefined) {
        throw new UsageError(`--runs ${file.directory}: not a directory (give the folder that holds your runs)`, {
          field: "--runs",
        });
      }
      const policy = accessPolicyFor({ host: options.host });
      const roots = options.runs.map((directory) => resolve(directory));
      const studies = createHumanEvalRoutes({ studyDirectories: () => findStudyDirectories({ roots }) });
      const webApp = createWebApp({
        runDirectories: roots,
        policy,
        mounts: [{ path: "/studies", app: studies, isPublicPath: isHumanEvalPublicPath }],
      });
      const server = await startWebServer({ webApp, host: options.host, port: options.port });
      process.stdout.write(
        `serving ${options.runs.join(", ")} on ${server.url}${policy.kind === "token" ? ` (admin token from ${ADMIN_TOKEN_VARIABLE} required)` : ""}\npress Ctrl-C to stop\n`,
      );
      if (options.open) openBrowser(server.url);
      await new Promise<void>((done) => {
        const stop = () => done();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
      await server.close();
    });
}

/** Opens `url` with the platform's opener; failure to open is not an error (the URL was printed). */
function openBrowser(url: string): void {
  const opener = process.platform === "darwin" ? "open" : process.platform === "win32" ? "explorer" : "xdg-open";
  try {
    const child = spawn(opener, [url], { detached: true, stdio: "ignore" });
    child.on("error", () => {});
    child.unref();
  } catch {
    // The URL is on stdout.
  }
}
