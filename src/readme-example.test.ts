import { execFile } from "node:child_process";
import {
  copyFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
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

  it("has a library example that runs as written from a clean install (npm ci builds dist through prepare)", async () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    const match = /```ts\n([\s\S]*?)```/.exec(readme);
    expect(match).not.toBeNull();
    const source = match![1]!;
    expect(source.split("\n").length).toBeLessThanOrEqual(14);
    // `npm ci` runs `prepare`, so the package's exports (dist/) exist right after a clean install.
    const packageJson = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
      exports: Record<string, { default: string }>;
      files: string[];
    };
    expect(packageJson.scripts.prepare).toBe("npm run build");
    expect(packageJson.exports["."]?.default).toBe("./dist/index.js");

    // Lay the package out as an install would: package.json and its files, with dist/ from the build
    // script's configuration, under an application's node_modules; the example is plain Node.js.
    const application = mkdtempSync(join(tmpdir(), "sa-readme-"));
    const installed = join(application, "node_modules", "stable-alignment");
    mkdirSync(installed, { recursive: true });
    try {
      await run(process.execPath, [
        join(root, "node_modules", "typescript", "bin", "tsc"),
        "-p",
        join(root, "tsconfig.build.json"),
        "--outDir",
        join(installed, "dist"),
      ]);
      copyFileSync(join(root, "package.json"), join(installed, "package.json"));
      for (const entry of packageJson.files.filter((file) => file !== "dist")) {
        cpSync(join(root, entry), join(installed, entry), { recursive: true });
      }
      // The package's own dependencies, where an install would have put them.
      symlinkSync(join(root, "node_modules"), join(installed, "node_modules"), "dir");

      const server = await startFakeLlmServer({
        respond: ({ body }) => {
          const content = JSON.stringify(body.messages ?? "");
          return content.includes("Rate 1-7") ? "Rating: 6 ### Reason: honest and kind" : "Honesty matters, gently.";
        },
      });
      try {
        const example = join(application, "example.mjs");
        writeFileSync(example, source.replace("http://127.0.0.1:8080/v1", `${server.url}/v1`));
        const { stdout } = await run(process.execPath, [example], { cwd: application });
        expect(stdout).toBe("Honesty matters, gently. 6\n");
      } finally {
        await server.close();
      }
    } finally {
      rmSync(application, { recursive: true, force: true });
    }
  }, 180_000);
});

function run(command: string, args: string[], { cwd = root }: { cwd?: string } = {}) {
  return promisify(execFile)(command, args, { cwd, encoding: "utf8" });
}
