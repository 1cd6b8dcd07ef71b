import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { sendOverHttp } from "./http-transport.js";

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const post = (url: string, signal = new AbortController().signal) =>
  sendOverHttp({
    url: `${url}/v1/chat?x=1`,
    headers: { "content-type": "application/json" },
    body: '{"q":"é"}',
    signal,
  });

describe("sendOverHttp", () => {
  it("sends the body with its length and reads status, headers and a UTF-8 body split mid-character", async () => {
    let received = "";
    const url = await serve((request, response) => {
      let body = "";
      request.setEncoding("utf8");
      request.on("data", (chunk: string) => {
        body += chunk;
      });
      request.on("end", () => {
        received = `${request.method} ${request.url} ${request.headers["content-length"]} ${body}`;
        const answer = Buffer.from('{"text":"héllo ✓"}', "utf8");
        response.writeHead(201, { "x-request-id": "abc", "set-cookie": ["a=1", "b=2"] });
        // Split inside the two-byte é: a decoder that works chunk by chunk would garble it.
        response.write(answer.subarray(0, 11));
        setTimeout(() => response.end(answer.subarray(11)), 10);
      });
    });
    const answer = await post(url);
    expect(received).toBe('POST /v1/chat?x=1 10 {"q":"é"}');
    expect(answer.status).toBe(201);
    expect(answer.text).toBe('{"text":"héllo ✓"}');
    expect(answer.headers.get("X-Request-Id")).toBe("abc");
    expect(answer.headers.get("set-cookie")).toBe("a=1, b=2");
    expect(answer.headers.get("retry-after")).toBeNull();
  });

  it("rejects an answer cut off before its announced length instead of returning half a body", async () => {
    const url = await serve((_request, response) => {
      response.writeHead(200, { "content-length": "100" });
      response.write('{"text":"half');
      setTimeout(() => response.socket?.destroy(), 10);
    });
    await expect(post(url)).rejects.toThrow();
  });

  it("stops on abort, before or during the request", async () => {
    const url = await serve(() => {
      // Never answers.
    });
    const controller = new AbortController();
    const pending = post(url, controller.signal);
    setTimeout(() => controller.abort(), 20);
    await expect(pending).rejects.toThrow(/aborted/);
    await expect(post(url, AbortSignal.abort())).rejects.toThrow(/aborted/);
    await expect(
      sendOverHttp({ url: "ftp://x/y", headers: {}, body: "", signal: new AbortController().signal }),
    ).rejects.toThrow(/unsupported protocol/);
  });
});
