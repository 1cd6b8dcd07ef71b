import { mkdtempSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import { afterEach, describe, expect, it } from "vitest";
import { CONTENT_SECURITY_POLICY, constantTimeEqual, SESSION_COOKIE_NAME } from "./security-middleware.js";
import { startWebServer, type WebServer } from "./start-web-server.js";
import { createWebApp } from "./web-app.js";

const TOKEN = "correct-horse-battery-staple-42";
const servers: WebServer[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

async function start(policy: Parameters<typeof createWebApp>[0]["policy"]): Promise<WebServer> {
  const directory = mkdtempSync(join(tmpdir(), "web-security-"));
  const server = await startWebServer({ webApp: createWebApp({ runDirectories: [directory], policy }), port: 0 });
  servers.push(server);
  return server;
}

/** A raw request, so the Host header can be chosen. */
function rawGet(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { headers }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    outgoing.on("error", reject);
    outgoing.end();
  });
}

describe("security headers and body limit", () => {
  it("sets the CSP, nosniff and referrer policy on pages, assets and 404s", async () => {
    const server = await start({ kind: "loopback" });
    for (const path of ["/", "/static/app.js", "/static/app.css", "/no/such/page"]) {
      const response = await fetch(`${server.url}${path}`);
      expect(response.headers.get("content-security-policy"), path).toBe(CONTENT_SECURITY_POLICY);
      expect(response.headers.get("x-content-type-options"), path).toBe("nosniff");
      expect(response.headers.get("referrer-policy"), path).toBe("no-referrer");
      await response.arrayBuffer();
    }
    const missing = await fetch(`${server.url}/no/such/page`);
    expect(missing.status).toBe(404);
  });

  it("answers 413 to a body over 64 KiB and accepts a small one", async () => {
    const server = await start({ kind: "token", adminToken: TOKEN });
    const big = await fetch(`${server.url}/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `token=${"a".repeat(70 * 1024)}`,
    });
    expect(big.status).toBe(413);
    expect(big.headers.get("content-security-policy")).toBe(CONTENT_SECURITY_POLICY);
    const small = await fetch(`${server.url}/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "token=wrong",
      redirect: "manual",
    });
    expect(small.status).toBe(401);
  });

  it("refuses a loopback server's requests naming another host (DNS rebinding)", async () => {
    const server = await start({ kind: "loopback" });
    expect(await rawGet(`${server.url}/`, { host: "attacker.example:7860" })).toBe(403);
    expect(await rawGet(`${server.url}/`, { host: `localhost:${server.port}` })).toBe(200);
  });
});

describe("cross-site requests", () => {
  it("refuses a POST a browser marks cross-site or from another origin, and accepts a same-origin one", async () => {
    const server = await start({ kind: "token", adminToken: TOKEN });
    const post = (headers: Record<string, string>) =>
      fetch(`${server.url}/login`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
        body: new URLSearchParams({ token: TOKEN }).toString(),
        redirect: "manual",
      });
    expect((await post({ "sec-fetch-site": "cross-site" })).status).toBe(403);
    expect((await post({ origin: "http://attacker.example" })).status).toBe(403);
    expect((await post({ origin: "null" })).status).toBe(403);
    expect((await post({ origin: server.url, "sec-fetch-site": "same-origin" })).status).toBe(303);
    expect((await post({})).status).toBe(303);
  });
});

describe("admin token off loopback", () => {
  it("requires the token on every request, by bearer header or login cookie", async () => {
    const server = await start({ kind: "token", adminToken: TOKEN });
    const anonymous = await fetch(`${server.url}/`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.text()).not.toContain(TOKEN);
    const page = await fetch(`${server.url}/`, { headers: { accept: "text/html" }, redirect: "manual" });
    expect(page.status).toBe(303);
    expect(page.headers.get("location")).toBe("/login");
    expect((await fetch(`${server.url}/static/app.js`)).status).toBe(401);
    expect((await fetch(`${server.url}/runs/abc/events`)).status).toBe(401);
    const wrong = await fetch(`${server.url}/`, { headers: { authorization: `Bearer ${TOKEN}x` } });
    expect(wrong.status).toBe(401);
    const bearer = await fetch(`${server.url}/`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(bearer.status).toBe(200);
    expect(await bearer.text()).toContain("Runs");

    const login = await fetch(`${server.url}/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: TOKEN }).toString(),
      redirect: "manual",
    });
    expect(login.status).toBe(303);
    const setCookie = login.headers.get("set-cookie") ?? "";
    expect(setCookie).toContain(`${SESSION_COOKIE_NAME}=`);
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Strict/i);
    expect(setCookie).not.toContain(TOKEN);
    const cookie = setCookie.split(";")[0] ?? "";
    expect((await fetch(`${server.url}/`, { headers: { cookie } })).status).toBe(200);
    expect((await fetch(`${server.url}/`, { headers: { cookie: `${SESSION_COOKIE_NAME}=forged` } })).status).toBe(401);
  });

  it("lets a mounted sub-app's public prefix through without the token, with the same headers and limits", async () => {
    const studies = new Hono();
    studies.get("/rate/:token", (context) => context.text(`rater page ${context.req.param("token").length}`));
    studies.get("/admin", (context) => context.text("study admin"));
    const directory = mkdtempSync(join(tmpdir(), "web-security-"));
    const server = await startWebServer({
      webApp: createWebApp({
        runDirectories: [directory],
        policy: { kind: "token", adminToken: TOKEN },
        mounts: [{ path: "/studies", app: studies, isPublicPath: (path) => path.startsWith("/rate/") }],
      }),
      port: 0,
    });
    servers.push(server);
    const rater = await fetch(`${server.url}/studies/rate/abc`);
    expect(rater.status).toBe(200);
    expect(await rater.text()).toBe("rater page 3");
    expect(rater.headers.get("content-security-policy")).toBe(CONTENT_SECURITY_POLICY);
    expect((await fetch(`${server.url}/studies/admin`)).status).toBe(401);
    expect((await fetch(`${server.url}/studies/ratex`)).status).toBe(401);
    const admin = await fetch(`${server.url}/studies/admin`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(await admin.text()).toBe("study admin");
  });

  it("compares tokens whatever their lengths", () => {
    expect(constantTimeEqual(TOKEN, TOKEN)).toBe(true);
    expect(constantTimeEqual(TOKEN, `${TOKEN}!`)).toBe(false);
    expect(constantTimeEqual("", TOKEN)).toBe(false);
  });
});
