import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CancelledError, ModelSpecError, ProviderError } from "../spec/errors.js";
import { writeGguf } from "../test-kit/gguf-writer.js";
import { buildTinyByteModel } from "../test-kit/tiny-gguf-model.js";
import { type DownloadProgress, resolveHuggingFaceModelFile } from "./hugging-face-model-file.js";

const modelBytes = Buffer.from(writeGguf(buildTinyByteModel()));
const htmlPage = Buffer.from("<!doctype html><title>Sign in to continue</title>");

let server: Server;
let endpoint: string;
let requests: { method: string; url: string; authorization: string | undefined }[] = [];
let cacheDirectory: string;

/** A stand-in for the Hub's `/<owner>/<repo>/resolve/<branch>/<file>` downloads, with ranges. */
function serve(
  body: Buffer,
  request: import("node:http").IncomingMessage,
  response: import("node:http").ServerResponse,
) {
  const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? "");
  const start = range ? Number(range[1]) : 0;
  const end = range?.[2] ? Number(range[2]) : body.length - 1;
  const slice = body.subarray(start, end + 1);
  response.writeHead(range ? 206 : 200, {
    "content-type": "application/octet-stream",
    "content-length": String(slice.length),
    "accept-ranges": "bytes",
    ...(range ? { "content-range": `bytes ${start}-${end}/${body.length}` } : {}),
  });
  response.end(request.method === "HEAD" ? undefined : slice);
}

beforeAll(async () => {
  server = createServer((request, response) => {
    requests.push({
      method: request.method ?? "",
      url: request.url ?? "",
      authorization: request.headers.authorization,
    });
    const path = new URL(request.url ?? "/", "http://127.0.0.1").pathname;
    if (path === "/owner/repo/resolve/main/tiny.gguf") return serve(modelBytes, request, response);
    if (path === "/owner/repo/resolve/main/login.gguf") return serve(htmlPage, request, response);
    if (path === "/owner/gated/resolve/main/tiny.gguf") {
      if (request.headers.authorization === "Bearer t0ken") return serve(modelBytes, request, response);
      response.writeHead(401, { "content-type": "text/plain" });
      return response.end("Access to model owner/gated is restricted");
    }
    response.writeHead(404, { "content-type": "text/plain" });
    response.end("Entry not found");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(async () => {
  requests = [];
  cacheDirectory = await mkdtemp(join(tmpdir(), "hf-cache-"));
  return () => rm(cacheDirectory, { recursive: true, force: true });
});

describe("resolveHuggingFaceModelFile", () => {
  it("downloads into <cache>/models once, reporting progress; the second call makes no request", async () => {
    const progress: DownloadProgress[] = [];
    const path = await resolveHuggingFaceModelFile({
      uri: "hf:owner/repo/tiny.gguf",
      cacheDirectory,
      endpoint,
      onProgress: (update) => progress.push(update),
    });
    expect(path.startsWith(join(cacheDirectory, "models"))).toBe(true);
    expect(Buffer.compare(await readFile(path), modelBytes)).toBe(0);
    expect(requests.filter((request) => request.method === "GET").length).toBeGreaterThan(0);
    expect(progress.at(-1)).toEqual({ downloadedBytes: modelBytes.length, totalBytes: modelBytes.length });
    // No token was given, and none may be picked up from the environment or token files.
    expect(requests.every((request) => request.authorization === undefined)).toBe(true);

    const requestsAfterFirst = requests.length;
    const again = await resolveHuggingFaceModelFile({ uri: "hf:owner/repo/tiny.gguf", cacheDirectory, endpoint });
    expect(again).toBe(path);
    expect(requests.length).toBe(requestsAfterFirst);
    expect(await readdir(join(cacheDirectory, "models"))).toHaveLength(1);
  });

  it("downloads a gated file with the access token it is given, and fails without one", async () => {
    const uri = "hf:owner/gated/tiny.gguf";
    // A token in the environment is not picked up here: credentials arrive through the CLI/config layer only.
    const previous = process.env.HF_TOKEN;
    process.env.HF_TOKEN = "t0ken";
    try {
      await expect(resolveHuggingFaceModelFile({ uri, cacheDirectory, endpoint })).rejects.toBeInstanceOf(
        ProviderError,
      );
    } finally {
      if (previous === undefined) delete process.env.HF_TOKEN;
      else process.env.HF_TOKEN = previous;
    }
    const path = await resolveHuggingFaceModelFile({ uri, cacheDirectory, endpoint, accessToken: "t0ken" });
    expect(Buffer.compare(await readFile(path), modelBytes)).toBe(0);
  });

  it("rejects a malformed URI without a request", async () => {
    await expect(
      resolveHuggingFaceModelFile({ uri: "hf:owner/tiny.gguf", cacheDirectory, endpoint }),
    ).rejects.toBeInstanceOf(ModelSpecError);
    expect(requests).toEqual([]);
  });

  it("stops before any request when the signal is already aborted", async () => {
    const call = resolveHuggingFaceModelFile({
      uri: "hf:owner/repo/tiny.gguf",
      cacheDirectory,
      endpoint,
      signal: AbortSignal.abort(),
    });
    await expect(call).rejects.toBeInstanceOf(CancelledError);
    expect(requests).toEqual([]);
  });

  it("reports a file the Hub does not have as ModelSpecError naming the URI", async () => {
    const call = resolveHuggingFaceModelFile({ uri: "hf:owner/repo/missing.gguf", cacheDirectory, endpoint });
    await expect(call).rejects.toBeInstanceOf(ModelSpecError);
    await expect(call).rejects.toThrow(/hf:owner\/repo\/missing\.gguf was not found .*404/);
  });

  it("fails fast with a retryable ProviderError when the endpoint is unreachable", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const call = resolveHuggingFaceModelFile({
      uri: "hf:owner/repo/tiny.gguf",
      cacheDirectory,
      endpoint: `http://127.0.0.1:${port}`,
    });
    await expect(call).rejects.toBeInstanceOf(ProviderError);
    await expect(call).rejects.toMatchObject({ code: "DOWNLOAD_FAILED", retryable: true });
    await expect(call).rejects.toThrow(/cannot reach/);
  });

  it("refuses and removes a download that is not GGUF, so it is not cached", async () => {
    const call = resolveHuggingFaceModelFile({ uri: "hf:owner/repo/login.gguf", cacheDirectory, endpoint });
    await expect(call).rejects.toBeInstanceOf(ModelSpecError);
    await expect(call).rejects.toThrow(/not a GGUF file/);
    const left = await readdir(join(cacheDirectory, "models")).catch(() => []);
    expect(left.filter((name) => name.endsWith(".gguf"))).toEqual([]);
  });
});
