import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { UsageError } from "../spec/errors.js";
import { runCliProcess } from "./cli-process.js";
import { accessPolicyFor } from "./serve-command.js";

const binPath = fileURLToPath(new URL("../../bin/stable-alignment.js", import.meta.url));

const TOKEN = "correct-horse-battery-staple-42";

describe("serve access policy", () => {
  it("the CLI refuses a non-loopback host without a token in one line, and never echoes the token", () => {
    expect(accessPolicyFor({ host: "127.0.0.1", environment: {} })).toEqual({ kind: "loopback" });
    expect(accessPolicyFor({ host: "::1", environment: {} })).toEqual({ kind: "loopback" });
    let refusal: unknown;
    try {
      accessPolicyFor({ host: "0.0.0.0", environment: {} });
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(UsageError);
    expect((refusal as Error).message).toContain("STABLE_ALIGNMENT_ADMIN_TOKEN");
    expect((refusal as Error).message.split("\n")).toHaveLength(1);
    const short = "short-secret";
    expect(() => accessPolicyFor({ host: "0.0.0.0", environment: { STABLE_ALIGNMENT_ADMIN_TOKEN: short } })).toThrow(
      /at least 16 characters/,
    );
    try {
      accessPolicyFor({ host: "0.0.0.0", environment: { STABLE_ALIGNMENT_ADMIN_TOKEN: short } });
    } catch (error) {
      expect((error as Error).message).not.toContain(short);
    }
    expect(accessPolicyFor({ host: "0.0.0.0", environment: { STABLE_ALIGNMENT_ADMIN_TOKEN: TOKEN } })).toEqual({
      kind: "token",
      adminToken: TOKEN,
    });
  });
});

describe("serve command", () => {
  it("refuses a non-loopback host without a token in one line (exit 2), and a missing --runs directory", async () => {
    const refused = await runCliProcess({ args: ["serve", "--host", "0.0.0.0", "--port", "0"] });
    expect(refused.code).toBe(2);
    expect(refused.stderr.split("\n")[0]).toMatch(
      /--host 0\.0\.0\.0 is not a loopback address: set STABLE_ALIGNMENT_ADMIN_TOKEN/,
    );
    const missing = await runCliProcess({ args: ["serve", "--runs", "/no/such/runs", "--port", "0"] });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("--runs /no/such/runs: no such directory");
    const file = join(mkdtempSync(join(tmpdir(), "serve-command-")), "runs.txt");
    writeFileSync(file, "");
    const notDirectory = await runCliProcess({ args: ["serve", "--runs", file, "--port", "0"], timeoutMs: 20_000 });
    expect(notDirectory.code).toBe(2);
    expect(notDirectory.stderr.split("\n")[0]).toBe(
      `error: --runs ${file}: not a directory (give the folder that holds your runs)`,
    );
  });

  it("serves the runs page on 127.0.0.1 and stops on SIGTERM", async () => {
    const root = mkdtempSync(join(tmpdir(), "serve-command-"));
    const child = spawn(process.execPath, [binPath, "serve", "--runs", root, "--port", "0"], {
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
    let stdout = "";
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        stdout += chunk;
        const match = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
        if (match?.[1]) resolve(match[1]);
      });
      child.once("close", () => reject(new Error(`serve exited before listening: ${stdout}`)));
    });
    const response = await fetch(`${url}/`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("No simulation, training or evaluation run");
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  });
});
