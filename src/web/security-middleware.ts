/**
 * App-wide security of the web app: every response carries a strict Content Security Policy and
 * friends; request bodies are size-limited (413); and, when the app listens off loopback, every
 * request needs the admin token (as `Authorization: Bearer <token>` or the session cookie the login
 * form sets). On loopback, requests must name a loopback host, so a DNS-rebinding page cannot read
 * the app. The token is compared in constant time and never logged or echoed.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { getCookie } from "hono/cookie";

/** The Content Security Policy of every response: nothing external, no inline script or style. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** Largest request body accepted, bytes (64 KiB). */
export const DEFAULT_BODY_LIMIT_BYTES = 64 * 1024;

/** Name of the HttpOnly, SameSite=Strict cookie that carries a logged-in session. */
export const SESSION_COOKIE_NAME = "stable_alignment_session";

/** Paths reachable without the token (the login form and the stylesheet it uses). */
const PUBLIC_PATHS = new Set(["/login", "/static/app.css"]);

/** Who may use the app. */
export type AccessPolicy =
  /** Listening on loopback: no token; the Host header must be a loopback name. */
  | { kind: "loopback" }
  /** Listening off loopback: every request needs the admin token. */
  | { kind: "token"; adminToken: string };

/** Sets the security headers on every response, errors and 404s included. */
export function securityHeaders(): MiddlewareHandler {
  return async (context, next) => {
    await next();
    const headers = context.res.headers;
    headers.set("Content-Security-Policy", CONTENT_SECURITY_POLICY);
    headers.set("X-Content-Type-Options", "nosniff");
    // `same-origin`, not `no-referrer`: under `no-referrer` a browser sends `Origin: null` on its own
    // form posts, which the cross-site check below could not tell from a forged one.
    headers.set("Referrer-Policy", "same-origin");
    headers.set("X-Frame-Options", "DENY");
    headers.set("Cross-Origin-Opener-Policy", "same-origin");
    headers.set("Cross-Origin-Resource-Policy", "same-origin");
  };
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Refuses (403) a state-changing request a browser marks as coming from another site: `Sec-Fetch-Site`
 * `cross-site` or `same-site`, or an `Origin` whose host is not the request's Host. Clients that send
 * neither header (curl, scripts) pass; a browser's own `Sec-Fetch-Site: same-origin` passes whatever the
 * Origin (pages cannot forge `Sec-` headers). Forms still need their own CSRF tokens where they change state.
 */
export function crossSiteRequestRefusal(): MiddlewareHandler {
  return async (context, next) => {
    if (SAFE_METHODS.has(context.req.method)) return next();
    const site = context.req.header("sec-fetch-site");
    if (site === "cross-site" || site === "same-site") return context.text("cross-site request refused", 403);
    if (site === "same-origin") return next();
    const origin = context.req.header("origin");
    if (origin !== undefined) {
      let originHost: string | undefined;
      try {
        originHost = origin === "null" ? undefined : new URL(origin).host;
      } catch {
        originHost = undefined;
      }
      if (originHost === undefined || originHost !== context.req.header("host")) {
        return context.text("cross-site request refused", 403);
      }
    }
    return next();
  };
}

/** Refuses request bodies over `maxBytes` (default {@link DEFAULT_BODY_LIMIT_BYTES}) with 413. */
export function requestBodyLimit({
  maxBytes = DEFAULT_BODY_LIMIT_BYTES,
}: {
  maxBytes?: number;
} = {}): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: (context) => context.text(`request body over ${maxBytes} bytes`, 413),
  });
}

/** The cookie value of a session: a keyed digest of the token, so the cookie never holds the token. */
export function sessionValue(adminToken: string): string {
  return createHmac("sha256", adminToken).update("stable-alignment web session v1").digest("hex");
}

/** Constant-time equality of two strings (compared as SHA-256 digests, so lengths leak nothing). */
export function constantTimeEqual(left: string, right: string): boolean {
  const a = createHash("sha256").update(left).digest();
  const b = createHash("sha256").update(right).digest();
  return timingSafeEqual(a, b);
}

/** True when the request carries the admin token (bearer header) or a valid session cookie. */
export function hasAdminAccess(context: Context, adminToken: string): boolean {
  const header = context.req.header("authorization") ?? "";
  const bearer = /^Bearer\s+(.+)$/i.exec(header)?.[1];
  if (bearer !== undefined && constantTimeEqual(bearer.trim(), adminToken)) return true;
  const cookie = getCookie(context, SESSION_COOKIE_NAME);
  return cookie !== undefined && constantTimeEqual(cookie, sessionValue(adminToken));
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** The host name of a Host header value, without its port. */
function hostName(header: string): string {
  const bracketed = /^(\[[^\]]*\])(?::\d+)?$/.exec(header);
  if (bracketed) return (bracketed[1] ?? "").toLowerCase();
  return (header.split(":")[0] ?? "").toLowerCase();
}

/** True when `host` is a loopback address (127.0.0.0/8, ::1 or localhost). */
export function isLoopbackHost(host: string): boolean {
  const name = host.replace(/^\[|\]$/g, "").toLowerCase();
  return name === "localhost" || name === "::1" || /^127(\.\d{1,3}){3}$/.test(name);
}

/**
 * Enforces `policy`: off loopback, a request without the token gets 401 (pages redirect to the login
 * form, other requests get one line), except paths for which `isPublicPath` is true (default none),
 * whose sub-app checks its own credentials; on loopback, a request whose Host is not a loopback name gets 403.
 */
export function accessControl({
  policy,
  isPublicPath = () => false,
}: {
  policy: AccessPolicy;
  /**
   * Paths that carry their own credential and need no admin token off loopback (the human-evaluation
   * rater pages, authenticated by the rater's private token). Default: none.
   */
  isPublicPath?: (path: string) => boolean;
}): MiddlewareHandler {
  return async (context, next) => {
    if (policy.kind === "loopback") {
      const host = hostName(context.req.header("host") ?? "");
      if (!LOOPBACK_HOSTS.has(host) && !isLoopbackHost(host)) {
        return context.text("this app answers only to a loopback host name", 403);
      }
      return next();
    }
    const path = context.req.path;
    if (PUBLIC_PATHS.has(path) || isPublicPath(path) || hasAdminAccess(context, policy.adminToken)) return next();
    const wantsPage = context.req.method === "GET" && (context.req.header("accept") ?? "").includes("text/html");
    if (wantsPage) return context.redirect("/login", 303);
    return context.text("admin token required (Authorization: Bearer <token>, or log in at /login)", 401);
  };
}
