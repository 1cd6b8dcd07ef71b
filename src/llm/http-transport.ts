/**
 * Requests over node:http and node:https with keep-alive agents: the OpenAI-compatible client's default
 * transport (POST), and endpoint probes (GET; fetch would refuse ports on its "bad ports" list). fetch (undici) builds WHATWG requests, streams and headers for every call and costs about
 * 0.3 ms more CPU per call than this (measured against the fake server at concurrency 64), which at
 * thousands of calls a second is what held the orchestrator back. Redirects are not followed.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";

/** Reads a response header by (case-insensitive) name; null when absent. */
export interface HeaderReader {
  get(name: string): string | null;
}

/** A whole HTTP answer: status, headers and the body as text (UTF-8). */
export interface HttpAnswer {
  status: number;
  headers: HeaderReader;
  text: string;
}

/** What a request needs. `signal` aborts the request and the reading of its answer. */
export interface HttpRequest {
  /** Default POST. */
  method?: "GET" | "POST";
  url: string;
  headers: Readonly<Record<string, string>>;
  /** Sent with a content-length; default none (a GET). */
  body?: string;
  signal: AbortSignal;
}

// One pair of agents for the process, as fetch shares one dispatcher: idle sockets are reused by every
// client and do not keep the process alive.
let agents: { http: HttpAgent; https: HttpsAgent } | undefined;
const agentsOf = () => {
  agents ??= { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };
  return agents;
};

function headerReader(message: IncomingMessage): HeaderReader {
  return {
    get(name) {
      const value = message.headers[name.toLowerCase()];
      if (value === undefined) return null;
      return Array.isArray(value) ? value.join(", ") : value;
    },
  };
}

/**
 * Sends the request (`body` as UTF-8) and resolves with the whole answer, whatever its status; rejects
 * (with the socket's error, or "aborted") when the connection fails, closes before the answer ends, or
 * `signal` aborts.
 */
export function sendOverHttp({ method = "POST", url, headers, body, signal }: HttpRequest): Promise<HttpAnswer> {
  return new Promise<HttpAnswer>((resolve, reject) => {
    const target = new URL(url);
    const secure = target.protocol === "https:";
    if (!secure && target.protocol !== "http:") {
      reject(new Error(`unsupported protocol ${target.protocol}`));
      return;
    }
    const payload = body === undefined ? undefined : Buffer.from(body, "utf8");
    const send = secure ? httpsRequest : httpRequest;
    let settled = false;
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      reject(error);
    };
    const request = send(
      {
        protocol: target.protocol,
        hostname: target.hostname.startsWith("[") ? target.hostname.slice(1, -1) : target.hostname,
        port: target.port === "" ? undefined : Number(target.port),
        path: `${target.pathname}${target.search}`,
        method,
        agent: secure ? agentsOf().https : agentsOf().http,
        headers: payload === undefined ? headers : { ...headers, "content-length": String(payload.byteLength) },
      },
      (response) => {
        response.setEncoding("utf8");
        let text = "";
        response.on("data", (chunk: string) => {
          text += chunk;
        });
        response.on("error", fail);
        response.on("close", () => {
          if (!response.complete) fail(new Error("the connection closed before the answer ended"));
        });
        response.on("end", () => {
          if (settled) return;
          settled = true;
          signal.removeEventListener("abort", onAbort);
          resolve({ status: response.statusCode ?? 0, headers: headerReader(response), text });
        });
      },
    );
    request.on("error", fail);
    const onAbort = (): void => {
      fail(new Error("aborted"));
      request.destroy(new Error("aborted"));
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener("abort", onAbort, { once: true });
    request.end(payload);
  });
}
