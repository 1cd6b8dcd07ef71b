/** Starts the web app on a TCP address with @hono/node-server and stops it cleanly. */
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import type { WebApp } from "./web-app.js";

/** A listening server. */
export interface WebServer {
  /** `http://host:port` (IPv6 hosts in brackets). */
  readonly url: string;
  readonly port: number;
  /** Stops listening, ends open event streams and closes the app's databases. */
  close(): Promise<void>;
}

/** Listens on `host` (default 127.0.0.1) and `port` (default 7860; 0 picks a free one). */
export async function startWebServer({
  webApp,
  host = "127.0.0.1",
  port = 7860,
}: {
  webApp: WebApp;
  host?: string;
  port?: number;
}): Promise<WebServer> {
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const started = serve({ fetch: webApp.app.fetch, hostname: host, port }, () => resolve(started));
    started.once("error", reject);
  });
  const address = server.address() as AddressInfo;
  const shownHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${address.port}`,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        webApp.close();
        if ("closeAllConnections" in server) server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
