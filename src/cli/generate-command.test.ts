import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeLlmServer, startFakeLlmServer } from "../test-kit/fake-llm-server.js";
import {
  expectedGreedyChatReply,
  expectedGreedyContinuation,
  writeTinyByteModel,
} from "../test-kit/tiny-gguf-model.js";
import { runCliProcess } from "./cli-process.js";

let server: FakeLlmServer;
let directory: string;
let ggufPath: string;

beforeAll(async () => {
  server = await startFakeLlmServer({
    respond: ({ body }) =>
      `echo: ${JSON.stringify((body.messages as { content: string }[] | undefined)?.at(-1)?.content ?? body.prompt)}`,
  });
  directory = mkdtempSync(join(tmpdir(), "sa-generate-"));
  ggufPath = await writeTinyByteModel({ path: join(directory, "tiny.gguf") });
});

afterAll(async () => {
  await server.close();
});

const environment = () => ({ STABLE_ALIGNMENT_CACHE: join(directory, "cache") });

describe("stable-alignment generate", () => {
  it("answers through an OpenAI-compatible server, as text and as JSON", async () => {
    const text = await runCliProcess({
      args: ["generate", "--model", `openai:fake-model@${server.url}/v1`, "--prompt", "hello there"],
      cwd: directory,
      environment: environment(),
    });
    expect(text.stderr).toMatch(/prompt \+ .* completion tokens/);
    expect(text.code).toBe(0);
    expect(text.stdout).toBe('echo: "hello there"\n');

    const json = await runCliProcess({
      args: [
        "generate",
        "--model",
        `openai:fake-model@${server.url}/v1`,
        "--prompt",
        "hi",
        "--system",
        "be brief",
        "--json",
      ],
      cwd: directory,
      environment: environment(),
    });
    expect(json.code).toBe(0);
    const result = JSON.parse(json.stdout) as { text: string; usage: { promptTokens: number }; costUsd: number };
    expect(result.text).toBe('echo: "hi"');
    expect(result.usage.promptTokens).toBeGreaterThan(0);
    expect(result.costUsd).toBe(0);
    const chatRequest = server.requests.findLast((request) => request.path === "/v1/chat/completions");
    expect((chatRequest!.body as { messages: unknown[] }).messages).toEqual([
      { role: "system", content: "be brief" },
      { role: "user", content: "hi" },
    ]);
  });

  it("runs an in-process GGUF model with exactly the known greedy output", async () => {
    const completion = await runCliProcess({
      args: [
        "generate",
        "--model",
        `gguf:${ggufPath}`,
        "--prompt",
        "abc",
        "--completion",
        "--greedy",
        "--max-tokens",
        "12",
      ],
      cwd: directory,
      environment: environment(),
    });
    expect(completion.stderr).not.toMatch(/error/);
    expect(completion.code).toBe(0);
    expect(completion.stdout).toBe(`${expectedGreedyContinuation("abc", 12)}\n`);
    expect(completion.stdout).toBe("defghijklmno\n");

    const chat = await runCliProcess({
      args: [
        "generate",
        "--model",
        `gguf:${ggufPath}`,
        "--prompt",
        "anything",
        "--greedy",
        "--max-tokens",
        "8",
        "--json",
      ],
      cwd: directory,
      environment: environment(),
    });
    expect(chat.code).toBe(0);
    expect((JSON.parse(chat.stdout) as { text: string }).text).toBe(expectedGreedyChatReply(8));
  });

  it("downloads an hf: model once into the cache (HF_ENDPOINT pointed at a local server), then runs it", async () => {
    const bytes = readFileSync(ggufPath);
    const downloads: string[] = [];
    const hub = createServer((request, response) => {
      const path = new URL(request.url ?? "/", "http://127.0.0.1").pathname;
      if (path !== "/owner/repo/resolve/main/tiny.gguf") {
        response.writeHead(404).end("Entry not found");
        return;
      }
      if (request.method === "GET") downloads.push(path);
      response.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(bytes.length) });
      response.end(request.method === "HEAD" ? undefined : bytes);
    });
    await new Promise<void>((resolve) => hub.listen(0, "127.0.0.1", resolve));
    const hubUrl = `http://127.0.0.1:${(hub.address() as AddressInfo).port}`;
    try {
      const cache = join(directory, "hf-cache");
      const run = () =>
        runCliProcess({
          args: [
            "generate",
            "--model",
            "hf:owner/repo/tiny.gguf",
            "--prompt",
            "xy",
            "--completion",
            "--greedy",
            "--max-tokens",
            "3",
          ],
          cwd: directory,
          environment: { STABLE_ALIGNMENT_CACHE: cache, HF_ENDPOINT: hubUrl },
        });
      const first = await run();
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toBe(`${expectedGreedyContinuation("xy", 3)}\n`);
      expect(first.stderr).toMatch(/downloading hf:owner\/repo\/tiny\.gguf/);
      const downloadsAfterFirst = downloads.length;
      expect(downloadsAfterFirst).toBeGreaterThan(0);
      const second = await run();
      expect(second.stdout).toBe(first.stdout);
      // The second run finds the file in the cache and asks the hub nothing.
      expect(downloads).toHaveLength(downloadsAfterFirst);
      expect(readdirSync(join(cache, "models")).some((name) => name.endsWith(".gguf"))).toBe(true);
    } finally {
      hub.close();
    }
  });

  it("gives one clear line and a non-zero exit for bad input", async () => {
    const cases: { args: string[]; message: RegExp; files?: Record<string, string>; usage?: true }[] = [
      { args: ["--model", "anthropic:claude"], message: /unknown model provider "anthropic"/, usage: true },
      { args: ["--model", "gpt-4o"], message: /no provider prefix/, usage: true },
      { args: ["--model", "openai:gpt-4o-mini"], message: /needs OPENAI_API_KEY/ },
      { args: ["--model", `gguf:${join(directory, "absent.gguf")}`], message: /absent\.gguf does not exist/ },
      { args: ["--model", `gguf:${join(directory, "not-a-model.gguf")}`], message: /not-a-model\.gguf.*not a GGUF/i },
      { args: ["--model", "scripted:hello"], message: /only accepted with --allow-test-models/ },
      { args: ["--model", "openai:m@http://127.0.0.1:1/v1"], message: /127\.0\.0\.1:1/ },
      {
        args: ["--model", `openai:fake-model@${server.url}/v1`],
        message: /stable-alignment\.config\.yaml: field "endpoints\.timeoutMs"/,
        files: { "stable-alignment.config.yaml": "endpoints:\n  timeoutMs: soon\n" },
      },
    ];
    writeFileSync(join(directory, "not-a-model.gguf"), "this is text, not a model");
    for (const { args, message, files, usage } of cases) {
      const cwd = mkdtempSync(join(tmpdir(), "sa-generate-bad-"));
      for (const [name, content] of Object.entries(files ?? {})) writeFileSync(join(cwd, name), content);
      const result = await runCliProcess({
        args: ["generate", ...args, "--prompt", "x"],
        cwd,
        environment: environment(),
        timeoutMs: 60_000,
      });
      // A malformed spec is a bad flag value: exit 2, the error and one hint line. Anything else: exit 1, one line.
      expect(result.code, `${args.join(" ")}: ${result.stderr}`).toBe(usage ? 2 : 1);
      expect(result.stderr).toMatch(message);
      expect(result.stderr.trim().split("\n")).toEqual(
        usage
          ? [expect.stringMatching(/^error: /), '(run "stable-alignment generate --help" for usage)']
          : [expect.any(String)],
      );
      expect(result.stdout).toBe("");
    }
  }, 180_000);
});
