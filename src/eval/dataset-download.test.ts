/**
 * Downloads through the endpoint override, against a real HTTP server on 127.0.0.1 serving files this
 * test writes: a file lands in the cache once (a second use makes no request), a pinned checksum
 * mismatch is refused in one line with nothing kept, and a cached file that changed is noticed.
 */

import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InputError, ProviderError, UsageError } from "../spec/errors.js";
import { benchmarkDefinition } from "./benchmarks.js";
import { CHECKSUMS_FILE, downloadBenchmarkData } from "./dataset-download.js";

let server: Server;
let endpoint: string;
let directory: string;
const requests: string[] = [];
const pairs = `${JSON.stringify({
  chosen: "\n\nHuman: hi\n\nAssistant: hello there",
  rejected: "\n\nHuman: hi\n\nAssistant: go away",
})}\n`;
const files: Record<string, Buffer> = {
  "/datasets/Anthropic/hh-rlhf/resolve/main/harmless-base/test.jsonl.gz": gzipSync(pairs),
  "/raw/data.json": Buffer.from("[]"),
};

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "eval-download-"));
  server = createServer((request, response) => {
    requests.push(request.url ?? "");
    const body = files[request.url ?? ""];
    if (body === undefined) {
      response.writeHead(404).end("not found");
      return;
    }
    response.writeHead(200, { "content-length": body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(directory, { recursive: true, force: true });
});

describe("benchmark downloads", () => {
  it("lands in the cache once through the endpoint override, with its checksum recorded", async () => {
    const cacheDirectory = join(directory, "cache-once");
    const path = await downloadBenchmarkData({ benchmark: "hh-harmless", split: "test", cacheDirectory, endpoint });
    expect(path).toBe(join(cacheDirectory, "datasets", "hh-harmless", "harmless-base", "test.jsonl.gz"));
    expect(requests).toEqual(["/datasets/Anthropic/hh-rlhf/resolve/main/harmless-base/test.jsonl.gz"]);
    const again = await downloadBenchmarkData({ benchmark: "hh-harmless", split: "test", cacheDirectory, endpoint });
    expect(again).toBe(path);
    expect(requests).toHaveLength(1);
    const { items } = await benchmarkDefinition("hh-harmless").load({ path, split: "test" });
    expect(items).toHaveLength(1);
    const recorded = JSON.parse(
      await readFile(join(cacheDirectory, "datasets", "hh-harmless", CHECKSUMS_FILE), "utf8"),
    );
    expect(Object.keys(recorded)).toEqual(["harmless-base/test.jsonl.gz"]);
    // A cached file that changed afterwards is refused, naming it.
    await writeFile(path, gzipSync("{}\n"));
    await expect(
      downloadBenchmarkData({ benchmark: "hh-harmless", split: "test", cacheDirectory, endpoint }),
    ).rejects.toThrow(InputError);
  });

  it("a pinned checksum mismatch is refused in one line and nothing is kept", async () => {
    const cacheDirectory = join(directory, "cache-mismatch");
    const sources = () => ({
      files: [{ host: "github" as const, path: "raw/data.json", target: "data.json", sha256: "0".repeat(64) }],
      root: "data.json",
    });
    const failure = await downloadBenchmarkData({
      benchmark: "truthfulqa",
      split: "test",
      cacheDirectory,
      githubEndpoint: endpoint,
      sources,
    }).catch((error: unknown) => error as Error);
    expect(failure).toBeInstanceOf(ProviderError);
    expect((failure as ProviderError).code).toBe("DOWNLOAD_CHECKSUM_MISMATCH");
    expect((failure as Error).message).toMatch(
      /^http:\/\/127\.0\.0\.1:\d+\/raw\/data\.json: checksum mismatch \(sha256 [0-9a-f]{64}, expected 0{64}\); nothing was kept$/,
    );
    const left = await readdir(join(cacheDirectory, "datasets", "truthfulqa")).catch(() => []);
    expect(left).toEqual([]);
  });

  it("ETHICS: the release tar is downloaded once and its CSVs extracted in the original layout", async () => {
    const release = join(directory, "release");
    const rows: Record<string, string> = {
      "commonsense/cm_test.csv": "label,input,is_short,edited\n1,I lied to my friend.,True,False\n",
      "deontology/deontology_test.csv": "label,scenario,excuse\n1,Can you help?,No because I am busy.\n",
      "justice/justice_test.csv": "label,scenario\n0,I deserve cake because I am tall.\n",
      "virtue/virtue_test.csv": "label,scenario\n1,Ann shared her lunch. [SEP] kind\n",
      "utilitarianism/util_test.csv": "I found a coin.,I lost a coin.\n",
    };
    for (const [relative, text] of Object.entries(rows)) {
      await mkdir(join(release, "ethics", relative, ".."), { recursive: true });
      await writeFile(join(release, "ethics", relative), text);
    }
    execFileSync("tar", ["--format=ustar", "-cf", join(directory, "ethics.tar"), "-C", release, "ethics"]);
    files["/~hendrycks/ethics.tar"] = await readFile(join(directory, "ethics.tar"));
    const cacheDirectory = join(directory, "cache-ethics");
    const before = requests.length;
    const path = await downloadBenchmarkData({
      benchmark: "ethics",
      split: "test",
      cacheDirectory,
      berkeleyEndpoint: endpoint,
    });
    expect(path).toBe(join(cacheDirectory, "datasets", "ethics", "ethics"));
    const { items } = await benchmarkDefinition("ethics").load({ path, split: "test" });
    expect(items.map((entry) => entry.item.id)).toEqual([
      "commonsense/2",
      "deontology/2",
      "justice/2",
      "virtue/2",
      "utilitarianism/1",
    ]);
    await downloadBenchmarkData({ benchmark: "ethics", split: "test", cacheDirectory, berkeleyEndpoint: endpoint });
    expect(requests.slice(before)).toEqual(["/~hendrycks/ethics.tar"]);
  });

  it("a missing file is one line naming the URL and status; MIC is --data only", async () => {
    const sources = () => ({
      files: [{ host: "github" as const, path: "raw/missing.json", target: "m.json" }],
      root: "m.json",
    });
    await expect(
      downloadBenchmarkData({
        benchmark: "truthfulqa",
        split: "test",
        cacheDirectory: join(directory, "c3"),
        githubEndpoint: endpoint,
        sources,
      }),
    ).rejects.toThrow(/\/raw\/missing\.json: the server answered 404$/);
    await expect(downloadBenchmarkData({ benchmark: "mic", split: "test", cacheDirectory: directory })).rejects.toThrow(
      UsageError,
    );
  });
});
