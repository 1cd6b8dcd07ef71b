import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { describeEngine } from "../engine/engine-description.js";
import { blasUnderTest, referenceBlasPaths } from "../engine/testing/blas-under-test.js";
import { startFakeLlmServer } from "../test-kit/fake-llm-server.js";
import { checkBlas, runDoctorChecks } from "./doctor-command.js";

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
      blasWarning: undefined,
    });
    expect(openBlas).toEqual({ name: "BLAS", status: "ok", detail: "OpenBLAS 0.3.21 (libopenblas.so.0), 2 threads" });
  });
});
