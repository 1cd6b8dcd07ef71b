import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { startFakeLlmServer } from "./test-kit/fake-llm-server.js";

const root = fileURLToPath(new URL("..", import.meta.url));

describe("README", () => {
  it("opens with the two newcomer commands", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    const firstBlock = readme.slice(readme.indexOf("```sh"), readme.indexOf("```", readme.indexOf("```sh") + 5));
    expect(readme.indexOf("```sh")).toBeLessThan(200);
    expect(firstBlock).toContain("npm ci && npx stable-alignment simulate");
    expect(firstBlock).toContain("npm ci && npm test");
    const packageJson = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { scripts: { test: string } };
    expect(packageJson.scripts.test).toBe("vitest run");
  });

  it("has a library example that runs as written against an OpenAI-compatible server", async () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    const match = /```ts\n([\s\S]*?)```/.exec(readme);
    expect(match).not.toBeNull();
    const source = match![1]!;
    expect(source.split("\n").length).toBeLessThanOrEqual(14);
    const server = await startFakeLlmServer({
      port: 0,
      respond: ({ body }) => {
        const content = JSON.stringify(body.messages ?? "");
        return content.includes("Rate 1-7") ? "Rating: 6 ### Reason: honest and kind" : "Honesty matters, gently.";
      },
    });
    try {
      const runnable = source
        .replace('from "stable-alignment"', `from ${JSON.stringify(join(root, "src", "index.ts"))}`)
        .replace("http://127.0.0.1:8080/v1", `${server.url}/v1`)
        .replace("console.log(", "globalThis.readmeOutput = (");
      const file = join(root, "node_modules", ".readme-example.mts");
      writeFileSync(file, runnable);
      await import(file);
      expect((globalThis as { readmeOutput?: unknown }).readmeOutput).toBe(6);
    } finally {
      await server.close();
    }
  });
});
