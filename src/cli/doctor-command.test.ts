import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
import { startFakeLlmServer } from "../test-kit/fake-llm-server.js";
import type { CliContext } from "./cli-context.js";
import { DEFAULT_AGENT_MODEL } from "./default-models.js";
import { runDoctorChecks } from "./doctor-command.js";
import { runCli } from "./main.js";

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

const contextIn = (directory: string, models: { agent?: string; observer?: string } = {}): CliContext => ({
  config: { models },
  configFile: undefined,
  cacheDirectory: join(directory, "cache"),
  environment: {},
  stdout: new PassThrough(),
  stderr: new PassThrough(),
});

describe("runDoctorChecks", () => {
  it("reports reachable and unreachable endpoints, the cache, llama.cpp, and never the API key", async () => {
    const server = await startFakeLlmServer();
    const directory = mkdtempSync(join(tmpdir(), "sa-doctor-"));
    try {
      const checks = await runDoctorChecks({
        context: {
          config: {
            models: { agent: `openai:fake-model@${server.url}/v1`, observer: "openai:m@http://127.0.0.1:1/v1" },
          },
          configFile: join(directory, "stable-alignment.config.yaml"),
          cacheDirectory: join(directory, "cache"),
          environment: { OPENAI_API_KEY: "sk-do-not-print" },
          stdout: new PassThrough(),
          stderr: new PassThrough(),
        },
        timeoutMs: 2000,
      });
      const byName = new Map(checks.map((check) => [check.name, check]));
      expect(byName.get("node")?.status).toBe("ok");
      expect(byName.get("cache")).toEqual({ name: "cache", status: "ok", detail: join(directory, "cache") });
      expect(byName.get("llama.cpp")?.status).toBe("ok");
      expect(byName.get("BLAS")?.detail).toMatch(/openblas|Accelerate|TypeScript/i);
      expect(byName.get(`endpoint ${server.url}/v1`)?.status).toBe("ok");
      expect(byName.get("endpoint http://127.0.0.1:1/v1")?.status).toBe("fail");
      expect(byName.get("OPENAI_API_KEY")).toEqual({ name: "OPENAI_API_KEY", status: "ok", detail: "set" });
      expect(JSON.stringify(checks)).not.toContain("sk-do-not-print");
    } finally {
      await server.close();
    }
  });
});

describe("doctor: models", () => {
  it("never calls an uncached default model ok: a warning that it downloads on first use", async () => {
    const directory = mkdtempSync(join(tmpdir(), "sa-doctor-"));
    const checks = await runDoctorChecks({ context: contextIn(directory) });
    expect(checks.find((check) => check.name === "models")).toEqual({
      name: "models",
      status: "warn",
      detail: `none configured; default agent and observer ${DEFAULT_AGENT_MODEL}: not cached; downloads on first use (needs network)`,
    });
  });

  it("fails a configured GGUF file that does not exist, and warns on an uncached hf: model", async () => {
    const directory = mkdtempSync(join(tmpdir(), "sa-doctor-"));
    const missing = `gguf:${join(directory, "none.gguf")}`;
    const checks = await runDoctorChecks({
      context: contextIn(directory, { agent: missing, observer: "hf:owner/repo/model.gguf" }),
    });
    expect(checks.find((check) => check.name === `model ${missing}`)).toMatchObject({
      status: "fail",
      detail: expect.stringMatching(/none\.gguf: no such file/),
    });
    expect(checks.find((check) => check.name === "model hf:owner/repo/model.gguf")).toMatchObject({
      status: "warn",
      detail: "not cached; downloads on first use (needs network)",
    });
  });

  it("exits 1 when a check fails, naming the failing checks in one line", async () => {
    const directory = mkdtempSync(join(tmpdir(), "sa-doctor-"));
    const config = join(directory, "config.yaml");
    const missing = `gguf:${join(directory, "none.gguf")}`;
    writeFileSync(config, `models:\n  agent: ${missing}\n  observer: ${missing}\n`);
    vi.stubEnv("STABLE_ALIGNMENT_CACHE", join(directory, "cache"));
    let stderr = "";
    let stdout = "";
    vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      stderr += String(chunk);
      return true;
    });
    vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      stdout += String(chunk);
      return true;
    });
    const code = await runCli(["node", "stable-alignment", "--config", config, "doctor"]);
    vi.restoreAllMocks();
    expect(code).toBe(1);
    expect(stdout).toMatch(new RegExp(`^fail  model ${missing}`, "m"));
    expect(stderr).toBe(`error: 1 check(s) failed: model ${missing}\n`);
  });
});
