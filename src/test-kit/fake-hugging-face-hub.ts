/**
 * A stand-in for the Hugging Face Hub's file downloads on 127.0.0.1: `GET|HEAD
 * /<owner>/<repo>/resolve/<revision>/<file>` answers the file from a local directory, or 404 as the
 * Hub does for a file or repository it lacks. Every request is recorded, so a test can check that a
 * cached model asks nothing. Point HF_ENDPOINT (or a resolver's `endpoint`) at `url`.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";

/** One request the fake hub answered. */
export interface FakeHubRequest {
  method: string;
  /** The decoded path, e.g. `/owner/repo/resolve/main/config.json`. */
  path: string;
  authorization: string | undefined;
  status: number;
}

/** A running fake hub. */
export interface FakeHuggingFaceHub {
  /** Base URL, e.g. `http://127.0.0.1:41234` (no trailing slash). */
  readonly url: string;
  /** Every request so far, in order. */
  readonly requests: FakeHubRequest[];
  close(): Promise<void>;
}

/**
 * Serves `repositories`: keys `<owner>/<repo>@<revision>`, values directories whose files are the
 * repository's at that revision (subdirectories are not served). With `requiredToken` (default none)
 * every request without `Authorization: Bearer <token>` gets 401.
 */
export async function startFakeHuggingFaceHub({
  repositories,
  requiredToken,
}: {
  repositories: Readonly<Record<string, string>>;
  requiredToken?: string;
}): Promise<FakeHuggingFaceHub> {
  const requests: FakeHubRequest[] = [];
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? "/", "http://127.0.0.1").pathname);
    const answer = (status: number, body?: Buffer) => {
      requests.push({ method: request.method ?? "", path, authorization: request.headers.authorization, status });
      response.writeHead(status, {
        "content-type": status === 200 ? "application/octet-stream" : "text/plain",
        "content-length": String(body?.length ?? 0),
      });
      response.end(request.method === "HEAD" ? undefined : body);
    };
    if (requiredToken !== undefined && request.headers.authorization !== `Bearer ${requiredToken}`) {
      return answer(401, Buffer.from("Access to this model is restricted"));
    }
    const match = /^\/([^/]+)\/([^/]+)\/resolve\/(.+?)\/([^/]+)$/.exec(path);
    const directory = match ? repositories[`${match[1]}/${match[2]}@${match[3]}`] : undefined;
    const file = directory === undefined || match === null ? undefined : join(directory, match[4] as string);
    if (file === undefined || !existsSync(file) || !statSync(file).isFile()) {
      return answer(404, Buffer.from("Entry not found"));
    }
    answer(200, readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
