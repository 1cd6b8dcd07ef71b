/**
 * A served model's command: started with `{model}` replaced (and quoted), ready once `/models` answers,
 * its whole process group ended by close(); a command that exits early is one line naming the field.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../spec/errors.js";
import { startModelServer } from "./model-server.js";

const binPath = fileURLToPath(new URL("../../bin/stable-alignment.js", import.meta.url));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

describe("startModelServer", () => {
  it("runs the command with the model path, waits until it answers, and ends it on close", {
    timeout: 60_000,
  }, async () => {
    const directory = mkdtempSync(join(tmpdir(), "model-server-"));
    // A path a shell would split or expand unquoted.
    const model = join(directory, "it's a $model.gguf");
    writeFileSync(model, "GGUF");
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/v1`;
    const server = await startModelServer({
      command: `test -f {model} && exec "${process.execPath}" "${binPath}" dev fake-llm --port ${port}`,
      model,
      url,
      readyTimeoutMs: 30_000,
    });
    expect((await fetch(`${url}/models`)).ok).toBe(true);
    await server.close();
    await expect(fetch(`${url}/models`)).rejects.toThrow();
  });

  it("a command that exits before answering is one ConfigError naming serving.command", async () => {
    const port = await freePort();
    const error = await startModelServer({
      command: "test -f {model}",
      model: "/nonexistent/model.gguf",
      url: `http://127.0.0.1:${port}/v1`,
      readyTimeoutMs: 20_000,
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(/^recipe field "serving\.command": the server exited \(code 1\)/);
  });
});
