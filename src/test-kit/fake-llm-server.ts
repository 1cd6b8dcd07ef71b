/**
 * A fake OpenAI-compatible HTTP server for tests, benchmarks and demos: chat, completion, embeddings,
 * model listing and (given a checkpoint) vLLM-style echo scoring on 127.0.0.1, scripted or seeded answers, adjustable latency, a queue of
 * injected faults (rate limit, server error, hang, malformed or truncated body, rejected key) and
 * seeded random faults.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { mulberry32 } from "../engine/random.js";
import { createEchoScorer } from "./fake-llm-echo-scorer.js";
import { hashText, seededText } from "./fake-llm-seeded-text.js";

/** One request the server received. Times are `Date.now()` milliseconds. */
export interface FakeLlmRequest {
  method: string;
  path: string;
  /** The parsed JSON body, the raw text when it is not JSON, undefined when empty. */
  body: unknown;
  receivedAt: number;
  /** When the answer was sent; undefined while pending or for a hang. */
  respondedAt: number | undefined;
}

/**
 * A fault served instead of the next answer on a generation or embedding endpoint (FIFO).
 * `rate-limit`: 429 with `Retry-After` (default "1"). `server-error`: 500 or `status`. `hang`: never
 * answers (until close). `malformed`: 200 with `body` (default: not JSON). `truncated`: 200 whose JSON
 * answer stops midway (a matching content-length, so only parsing notices). `unauthorized`: 401 whose
 * message quotes the presented key, as OpenAI does, to prove clients never echo it.
 */
export type FakeLlmFault =
  | { type: "rate-limit"; retryAfter?: string }
  | { type: "server-error"; status?: number }
  | { type: "hang" }
  | { type: "malformed"; body?: string }
  | { type: "truncated" }
  | { type: "unauthorized" };

/** Faults served at random, after the injected queue is empty (load tests, chaos demos). */
export interface FakeLlmRandomFaults {
  /** Chance in [0, 1] that a generation or embedding request gets a fault. */
  probability: number;
  /** The faults, picked uniformly. */
  faults: readonly FakeLlmFault[];
  /** Seed of the draws, so a run's sequence of faults repeats. Default 1. */
  seed?: number;
}

/** What a scripted `respond` sees: the endpoint path and the parsed request body. */
export interface FakeLlmGenerateRequest {
  path: "/v1/chat/completions" | "/v1/completions";
  body: Record<string, unknown>;
}

/** Options of {@link startFakeLlmServer}. */
export interface FakeLlmServerOptions {
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  /** Default `127.0.0.1`. */
  host?: string;
  /**
   * Milliseconds from a request's arrival (its headers read) to its answer: the time the server spends
   * reading the body and answering counts towards it, so a busy server still emulates this latency
   * rather than this plus its own work. Default 0.
   */
  latencyMs?: number;
  /** Faults served at random; see FakeLlmRandomFaults. Default: none. */
  randomFaults?: FakeLlmRandomFaults;
  /** Scripted answer text; default: seeded text derived from the request (and a counter at temperature > 0). */
  respond?: (request: FakeLlmGenerateRequest) => string | Promise<string>;
  /** Length of each embedding vector. Default 8. */
  embeddingDimensions?: number;
  /** Model names listed by `/v1/models`. Default `["fake-model"]`. */
  models?: readonly string[];
  /** Keep every request in `requests`. Default true; long-running demos turn it off. */
  recordRequests?: boolean;
  /**
   * A checkpoint directory (`local:` layout) that answers `/v1/completions` with `echo: true` as vLLM
   * does (see fake-llm-echo-scorer.ts). Default: none; such requests get HTTP 400.
   */
  scoreModel?: string;
}

/** A running fake server. */
export interface FakeLlmServer {
  /** Origin such as `http://127.0.0.1:40123` (providers append `/v1`). */
  readonly url: string;
  readonly requests: FakeLlmRequest[];
  close(): Promise<void>;
  setLatency(milliseconds: number): void;
  injectFaults(faults: readonly FakeLlmFault[]): void;
}

/** Starts a fake OpenAI-compatible server; resolves once it listens. */
export async function startFakeLlmServer({
  port = 0,
  host = "127.0.0.1",
  latencyMs = 0,
  randomFaults,
  respond,
  embeddingDimensions = 8,
  models = ["fake-model"],
  recordRequests = true,
  scoreModel,
}: FakeLlmServerOptions = {}): Promise<FakeLlmServer> {
  const echoScorer = scoreModel === undefined ? undefined : await createEchoScorer({ directory: scoreModel });
  const requests: FakeLlmRequest[] = [];
  const faults: FakeLlmFault[] = [];
  let latency = latencyMs;
  let generateCount = 0;
  let requestCount = 0;
  const faultRandom = mulberry32(randomFaults?.seed ?? 1);
  const nextFault = (): FakeLlmFault | undefined => {
    const queued = faults.shift();
    if (queued !== undefined || randomFaults === undefined || randomFaults.faults.length === 0) return queued;
    if (faultRandom() >= randomFaults.probability) return undefined;
    return randomFaults.faults[Math.floor(faultRandom() * randomFaults.faults.length)];
  };

  async function handle(
    request: IncomingMessage,
    response: ServerResponse,
    raw: string,
    arrivedAt: number,
  ): Promise<void> {
    const path = (request.url ?? "/").split("?")[0] ?? "/";
    const record: FakeLlmRequest = {
      method: request.method ?? "GET",
      path,
      body: parseBody(raw),
      receivedAt: Date.now(),
      respondedAt: undefined,
    };
    if (recordRequests) requests.push(record);
    requestCount += 1;
    const send = (status: number, body: string, headers: Record<string, string> = {}): void => {
      record.respondedAt = Date.now();
      response.writeHead(status, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(body),
        "x-request-id": `req_${requestCount}`,
        ...headers,
      });
      response.end(body);
    };

    if (request.method === "GET" && path === "/v1/models") {
      const data = models.map((id) => ({ id, object: "model", created: 0, owned_by: "fake" }));
      send(200, JSON.stringify({ object: "list", data }));
      return;
    }
    const isGenerate = path === "/v1/chat/completions" || path === "/v1/completions";
    if (request.method !== "POST" || !(isGenerate || path === "/v1/embeddings")) {
      send(404, JSON.stringify({ error: { message: `no route ${request.method} ${path}`, type: "not_found" } }));
      return;
    }
    const wait = latency - (performance.now() - arrivedAt);
    if (latency > 0) await new Promise((resolve) => setTimeout(resolve, Math.max(0, wait)));
    const fault = nextFault();
    if (fault !== undefined) {
      if (fault.type === "hang") return;
      sendFault(fault, request, send);
      return;
    }
    const body = record.body;
    if (typeof body !== "object" || body === null) {
      send(400, JSON.stringify({ error: { message: "body must be a JSON object", type: "invalid_request_error" } }));
      return;
    }
    const fields = body as Record<string, unknown>;
    if (path === "/v1/embeddings") {
      send(200, embeddingAnswer(fields, embeddingDimensions));
      return;
    }
    if (path === "/v1/completions" && fields.echo === true) {
      const answer =
        echoScorer === undefined
          ? { problem: "echo is not supported: start the fake server with a score model" }
          : echoScorer.answer(fields, requestCount);
      if ("problem" in answer) {
        send(400, JSON.stringify({ error: { message: answer.problem, type: "invalid_request_error" } }));
      } else {
        send(200, answer.json);
      }
      return;
    }
    generateCount += 1;
    const generatePath = path as FakeLlmGenerateRequest["path"];
    let text: string;
    let finishReason = "stop";
    if (respond !== undefined) {
      text = await respond({ path: generatePath, body: fields });
    } else {
      ({ text, finishReason } = seededText(raw, fields, generateCount));
    }
    send(200, generateAnswer(generatePath, fields, text, finishReason, requestCount));
  }

  const server = createServer((request, response) => {
    const arrivedAt = performance.now();
    let raw = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => {
      raw += chunk;
    });
    request.on("end", () => {
      handle(request, response, raw, arrivedAt).catch((error: unknown) => {
        if (response.headersSent) return;
        const message = error instanceof Error ? error.message : String(error);
        response.writeHead(500, { "content-type": "application/json" });
        response.end(JSON.stringify({ error: { message, type: "fake_server_error" } }));
      });
    });
  });
  server.keepAliveTimeout = 60_000;

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}`;
  let closed: Promise<void> | undefined;

  return {
    url,
    requests,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Hung requests and idle keep-alive sockets would otherwise hold `close` open forever.
        server.closeAllConnections();
      });
      return closed;
    },
    setLatency(milliseconds: number) {
      latency = milliseconds;
    },
    injectFaults(newFaults: readonly FakeLlmFault[]) {
      faults.push(...newFaults);
    },
  };
}

function parseBody(raw: string): unknown {
  if (raw === "") return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

function sendFault(
  fault: Exclude<FakeLlmFault, { type: "hang" }>,
  request: IncomingMessage,
  send: (status: number, body: string, headers?: Record<string, string>) => void,
): void {
  switch (fault.type) {
    case "rate-limit":
      send(429, JSON.stringify({ error: { message: "Rate limit reached", type: "rate_limit_error" } }), {
        "retry-after": fault.retryAfter ?? "1",
      });
      return;
    case "server-error":
      send(fault.status ?? 500, JSON.stringify({ error: { message: "internal error", type: "server_error" } }));
      return;
    case "malformed":
      send(200, fault.body ?? "<html><body>upstream connect error</body></html>");
      return;
    case "truncated":
      send(200, '{"id":"chatcmpl-cut","object":"chat.completion","model":"fake-model","choices":[{"index":0,"mess');
      return;
    case "unauthorized": {
      const presented = (request.headers.authorization ?? "").replace(/^Bearer\s+/i, "");
      send(401, JSON.stringify({ error: { message: `Incorrect API key provided: ${presented}`, type: "auth" } }));
      return;
    }
  }
}

function generateAnswer(
  path: FakeLlmGenerateRequest["path"],
  body: Record<string, unknown>,
  text: string,
  finishReason: string,
  id: number,
): string {
  const model = typeof body.model === "string" ? body.model : "fake-model";
  const promptText = path === "/v1/completions" ? String(body.prompt ?? "") : messagesText(body.messages);
  // Like a real server, never bill more completion tokens than the request allowed.
  const completionTokens = Math.min(
    countTokens(text),
    typeof body.max_tokens === "number" ? body.max_tokens : Number.POSITIVE_INFINITY,
  );
  const usage = {
    prompt_tokens: countTokens(promptText),
    completion_tokens: completionTokens,
    total_tokens: countTokens(promptText) + completionTokens,
  };
  if (path === "/v1/completions") {
    return JSON.stringify({
      id: `cmpl-${id}`,
      object: "text_completion",
      created: 0,
      model,
      choices: [{ index: 0, text, finish_reason: finishReason }],
      usage,
    });
  }
  return JSON.stringify({
    id: `chatcmpl-${id}`,
    object: "chat.completion",
    created: 0,
    model,
    choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: finishReason }],
    usage,
  });
}

function messagesText(messages: unknown): string {
  if (!Array.isArray(messages)) return "";
  return messages.map((message) => String((message as { content?: unknown }).content ?? "")).join("\n");
}

/** Tokens counted as characters / 4, at least 1 for non-empty text. */
function countTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

function embeddingAnswer(body: Record<string, unknown>, dimensions: number): string {
  const input = body.input;
  const texts = Array.isArray(input) ? input.map(String) : [String(input ?? "")];
  const data = texts.map((text, index) => ({ object: "embedding", index, embedding: seededVector(text, dimensions) }));
  const promptTokens = texts.reduce((sum, text) => sum + countTokens(text), 0);
  return JSON.stringify({
    object: "list",
    data,
    model: typeof body.model === "string" ? body.model : "fake-embedding",
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  });
}

/** A unit vector determined by the text alone (same text, same vector). */
function seededVector(text: string, dimensions: number): number[] {
  const random = mulberry32(hashText(text));
  const vector = Array.from({ length: dimensions }, () => random() * 2 - 1);
  const norm = Math.hypot(...vector) || 1;
  return vector.map((value) => value / norm);
}
