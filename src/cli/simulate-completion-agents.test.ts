import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { classifyPrompt, societyAnswer } from "../sandbox/test-support/scripted-society.js";
import type { InteractionRecord } from "../spec/interaction-record.js";
import { type FakeLlmServer, startFakeLlmServer } from "../test-kit/fake-llm-server.js";
import { runCli } from "./main.js";

let server: FakeLlmServer;
let directory: string;
beforeAll(async () => {
  server = await startFakeLlmServer({ respond: ({ body }) => societyAnswer(body as never) });
  directory = mkdtempSync(join(tmpdir(), "simulate-completion-"));
});
afterAll(async () => {
  await server.close();
  rmSync(directory, { recursive: true, force: true });
});
afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

describe("simulate: a society mixing a chat model and a completion (base) model", () => {
  it("asks the completion model through /v1/completions as Human/Assistant text, stopped at the next turn, with no system prompt", async () => {
    vi.stubEnv("STABLE_ALIGNMENT_CACHE", join(directory, "cache"));
    vi.stubEnv("HF_ENDPOINT", "http://127.0.0.1:9");
    vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const config = join(directory, "config.yaml");
    writeFileSync(config, "{}\n");
    const runDirectory = join(directory, "run");
    const chat = `openai:chat-model@${server.url}/v1`;
    const completion = `openai-completion:base-model@${server.url}/v1`;
    const code = await runCli([
      "node",
      "stable-alignment",
      "--config",
      config,
      "simulate",
      "--run-dir",
      runDirectory,
      "--size",
      "2",
      "--targets",
      "3",
      "--rounds",
      "1",
      "--agent-model",
      `${chat}=1`,
      "--agent-model",
      `${completion}=1`,
      "--observer-model",
      chat,
      "--json",
    ]);
    vi.restoreAllMocks();
    expect(code).toBe(0);

    const records = readFileSync(join(runDirectory, "records.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as InteractionRecord);
    expect(records).toHaveLength(4);
    const recordText = JSON.stringify(records);
    expect(recordText).toContain(completion);
    expect(recordText).toContain(chat);

    const bodies = (path: string) =>
      server.requests
        .filter((request) => request.path === path)
        .map((request) => request.body as Record<string, unknown>);
    const completions = bodies("/v1/completions");
    // Two completion agents: each drafts, revises and rates two peers' drafts.
    const kinds = completions.map((body) => classifyPrompt(String(body.prompt).replace(/^Human: /, "")));
    expect(kinds.filter((kind) => kind === "draft")).toHaveLength(2);
    expect(kinds.filter((kind) => kind === "revision")).toHaveLength(2);
    expect(kinds.filter((kind) => kind === "peer-rating").length).toBeGreaterThan(0);
    for (const body of completions) {
      expect(body.model).toBe("base-model");
      expect(body.prompt).toMatch(/^Human: [\s\S]+\n\nAssistant:$/);
      expect(body.stop).toEqual(["\nHuman:"]);
      expect(body.messages).toBeUndefined();
      expect(body.response_format).toBeUndefined();
      expect(String(body.prompt)).not.toContain("do not add warnings");
    }
    // Chat agents keep their system prompt (SPEC 1.3); the observer gets none.
    const chatDrafts = bodies("/v1/chat/completions").filter((body) => {
      const messages = body.messages as { role: string; content: string }[];
      return classifyPrompt(messages.at(-1)?.content ?? "") === "draft";
    });
    expect(chatDrafts).toHaveLength(2);
    for (const body of chatDrafts) {
      expect((body.messages as { role: string }[]).map((message) => message.role)).toEqual(["system", "user"]);
    }
  });
});
