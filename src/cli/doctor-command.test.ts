import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { startFakeLlmServer } from "../test-kit/fake-llm-server.js";
import { runDoctorChecks } from "./doctor-command.js";

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
