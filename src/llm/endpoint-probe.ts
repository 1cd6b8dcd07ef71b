/**
 * Whether an OpenAI-compatible endpoint answers, asked as cheaply as it allows: `GET <baseURL>/models`.
 * `doctor` reports it; `experiment run` asks before its first step, so an endpoint that is down is
 * named at once rather than when the step that needs it starts, hours later.
 */

import { sendOverHttp } from "./http-transport.js";

/** What a probe found: the HTTP status the endpoint answered with, or why it did not answer. */
export type EndpointProbeResult = { answered: true; status: number } | { answered: false; reason: string };

/**
 * GETs `<baseURL>/models` (with `apiKey` as a bearer token when given) and reports the status, or the
 * reason nothing came back: the connection error, or "no answer within N ms" after `timeoutMs`
 * (default 5,000). Over node:http(s), as the client's own calls go, so any port the client can use
 * can be probed.
 */
export async function probeEndpoint({
  baseURL,
  apiKey,
  timeoutMs = 5000,
}: {
  baseURL: string;
  apiKey?: string;
  timeoutMs?: number;
}): Promise<EndpointProbeResult> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const answer = await sendOverHttp({
      method: "GET",
      url: `${baseURL.replace(/\/+$/, "")}/models`,
      headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
      signal,
    });
    return { answered: true, status: answer.status };
  } catch (error) {
    if (signal.aborted) return { answered: false, reason: `no answer within ${timeoutMs} ms` };
    return { answered: false, reason: error instanceof Error ? error.message : String(error) };
  }
}
