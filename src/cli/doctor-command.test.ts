import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
import { describeEngine } from "../engine/engine-description.js";
import { blasUnderTest, referenceBlasPaths } from "../engine/testing/blas-under-test.js";
import { startFakeLlmServer } from "../test-kit/fake-llm-server.js";
import { findTorchPython } from "../train/torch-python.js";
import type { CliContext } from "./cli-context.js";
import { DEFAULT_AGENT_MODEL } from "./default-models.js";
import { checkBlas, checkTorch, runDoctorChecks } from "./doctor-command.js";
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
    const forced = blasUnderTest();
    try {
      const checks = await runDoctorChecks({
        blasLibraryPaths: forced.libraryPaths,
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
      // The BLAS the tests are forced onto (STABLE_ALIGNMENT_TEST_BLAS), or whatever this machine has.
      const blas = byName.get("BLAS");
      const expectedDetail = {
        auto: /^(OpenBLAS|Apple Accelerate|cblas library|reference BLAS|pure TypeScript)/,
        reference: /^reference BLAS \(netlib.*35x slower.*install OpenBLAS: /,
        none: /^pure TypeScript matrix multiply.*no native BLAS.*install OpenBLAS: /,
      }[forced.setting];
      expect(blas?.detail).toMatch(expectedDetail);
      if (forced.setting !== "auto") expect(blas?.status).toBe("warn");
      expect(byName.get("engine kernels")).toEqual({
        name: "engine kernels",
        status: "ok",
        detail:
          "element-wise ops in WebAssembly SIMD kernels (one instance per shared memory of up to 4 GiB, any model size)",
      });
      expect(byName.get(`endpoint ${server.url}/v1`)?.status).toBe("ok");
      expect(byName.get("endpoint http://127.0.0.1:1/v1")?.status).toBe("fail");
      expect(byName.get("OPENAI_API_KEY")).toEqual({ name: "OPENAI_API_KEY", status: "ok", detail: "set" });
      expect(JSON.stringify(checks)).not.toContain("sk-do-not-print");
    } finally {
      await server.close();
    }
  });

  it("warns about no native BLAS and about the reference BLAS, with the command that installs OpenBLAS", () => {
    const none = checkBlas(describeEngine({ libraryPaths: [], platform: "linux" }));
    expect(none.status).toBe("warn");
    expect(none.detail).toMatch(
      /^pure TypeScript .*no native BLAS.*install OpenBLAS: apt-get install libopenblas0-pthread$/,
    );
    const reference = checkBlas(describeEngine({ libraryPaths: referenceBlasPaths(), platform: "linux" }));
    expect(reference.status).toBe("warn");
    // Where libblas3 is installed (CI installs it) this is the reference BLAS; elsewhere nothing loads.
    expect(reference.detail).toMatch(
      /^(reference BLAS \(netlib, single-threaded\).*35x slower|pure TypeScript .*no native BLAS).*apt-get install libopenblas0-pthread$/,
    );
    const openBlas = checkBlas({
      blasKind: "openblas",
      blas: "OpenBLAS 0.3.21 (libopenblas.so.0), 2 threads",
      blasThreads: 2,
      elementwise: "webassembly-simd",
      kernels: "WebAssembly SIMD kernels",
      blasWarning: undefined,
    });
    expect(openBlas).toEqual({ name: "BLAS", status: "ok", detail: "OpenBLAS 0.3.21 (libopenblas.so.0), 2 threads" });
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

  it("reports an hf: checkpoint as not cached, then as cached once its directory is complete", async () => {
    const directory = mkdtempSync(join(tmpdir(), "sa-doctor-"));
    const context = contextIn(directory, { agent: "hf:owner/qwen@v2", observer: "hf:owner/qwen@v2" });
    const before = await runDoctorChecks({ context });
    expect(before.find((check) => check.name === "model hf:owner/qwen@v2")).toMatchObject({
      status: "warn",
      detail: "not cached; downloads on first use (needs network)",
    });
    const cached = join(directory, "cache", "checkpoints", "owner", "qwen", "v2");
    mkdirSync(cached, { recursive: true });
    writeFileSync(join(cached, "config.json"), "{}");
    const after = await runDoctorChecks({ context });
    expect(after.find((check) => check.name === "model hf:owner/qwen@v2")).toEqual({
      name: "model hf:owner/qwen@v2",
      status: "ok",
      detail: `cached at ${cached}`,
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

describe("checkTorch", () => {
  it("warns, with how to install, when the named Python does not exist", () => {
    const check = checkTorch({ python: "/nonexistent/python3" });
    expect(check).toMatchObject({ name: "torch", status: "warn" });
    expect(check.detail).toMatch(/tried \/nonexistent\/python3\): install it \(apt-get install python3-torch/);
  });

  it.skipIf("missing" in findTorchPython())(
    "reports the Python with torch, its version, torchrun, CUDA devices and FSDP",
    () => {
      const check = checkTorch();
      expect(check.status).toBe("ok");
      expect(check.detail).toMatch(
        /\(Python 3\.\d+\.\d+\): torch \d+\.\d+\S*, torchrun found, (no CUDA devices|.+ GiB), FSDP (available|cannot be imported)/,
      );
    },
  );
});
