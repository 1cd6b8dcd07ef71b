import { mkdtempSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { InteractionRecord } from "../spec/interaction-record.js";
import { type FakeLlmServer, startFakeLlmServer } from "../test-kit/fake-llm-server.js";
import { registerSimulateCommand } from "./simulate-command.js";

/** HH-RLHF pairs whose chosen and rejected answers differ at the first assistant turn. */
function pairs(topic: string, count: number): string {
  return Array.from({ length: count }, (_, index) =>
    JSON.stringify({
      chosen: `\n\nHuman: ${topic} question ${index}?\n\nAssistant: A careful, kind answer ${index}.`,
      rejected: `\n\nHuman: ${topic} question ${index}?\n\nAssistant: A careless, hurtful answer ${index}.`,
    }),
  ).join("\n");
}

let llm: FakeLlmServer;
let hub: Server;
const downloads: string[] = [];
const savedEnvironment = { ...process.env };

beforeAll(async () => {
  llm = await startFakeLlmServer();
  const files: Record<string, Buffer> = {
    "/datasets/Anthropic/hh-rlhf/resolve/main/harmless-base/train.jsonl.gz": gzipSync(pairs("Prior", 6)),
    "/datasets/Anthropic/hh-rlhf/resolve/main/harmless-base/test.jsonl.gz": gzipSync(pairs("Pool", 4)),
  };
  hub = createServer((request, response) => {
    const body = files[request.url ?? ""];
    if (body === undefined) {
      response.writeHead(404).end("Entry not found");
      return;
    }
    downloads.push(request.url ?? "");
    response.writeHead(200, { "content-type": "application/gzip", "content-length": String(body.length) });
    response.end(body);
  });
  await new Promise<void>((resolve) => hub.listen(0, "127.0.0.1", resolve));
  process.env.HF_ENDPOINT = `http://127.0.0.1:${(hub.address() as AddressInfo).port}`;
  process.env.STABLE_ALIGNMENT_CACHE = mkdtempSync(join(tmpdir(), "simulate-dataset-cache-"));
});

afterAll(async () => {
  await llm.close();
  hub.close();
  process.env = savedEnvironment;
});

async function simulate(args: string[]): Promise<void> {
  const program = new Command("stable-alignment").exitOverride().option("--config <file>");
  program.configureOutput({ writeErr: () => {}, writeOut: () => {} });
  registerSimulateCommand(program);
  vi.spyOn(process.stdout, "write").mockImplementation(() => true);
  try {
    await program.parseAsync(["node", "stable-alignment", "simulate", ...args]);
  } finally {
    vi.mocked(process.stdout.write).mockRestore();
  }
}

describe("simulate --dataset hh-rlhf", () => {
  it("downloads the HH-RLHF files once, asks pool questions and seeds memories from the prior", async () => {
    const spec = `openai:fake@${llm.url}/v1`;
    const run = async () => {
      const runDirectory = join(mkdtempSync(join(tmpdir(), "simulate-dataset-")), "run");
      await simulate([
        ...["--agent-model", spec, "--observer-model", spec, "--dataset", "hh-rlhf"],
        ...["--size", "2", "--rounds", "1", "--prior-size", "2", "--setting", "half_half", "--run-dir", runDirectory],
      ]);
      return readFileSync(join(runDirectory, "records.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as InteractionRecord);
    };
    const records = await run();
    expect(records).toHaveLength(4);
    expect(records.map((record) => record.question)).toEqual([0, 1, 2, 3].map((index) => `Pool question ${index}?`));
    expect(downloads).toHaveLength(2);
    // The prior reached the agents: prompts quote memories retrieved from the pairs of the prior file.
    const draftPrompts = llm.requests
      .map((request) => JSON.stringify(request.body))
      .filter((body) => body.includes("Prior question"));
    expect(draftPrompts.length).toBeGreaterThan(0);

    await run();
    expect(downloads).toHaveLength(2);
  });
});
