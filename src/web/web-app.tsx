/**
 * The web app (`stable-alignment serve`): one Hono app that reads what the commands write. Security
 * middleware runs first, app-wide (headers, body limit, access policy, refusal of cross-site
 * state-changing requests), so every route (and every sub-app mounted later, such as the
 * human-evaluation pages at /studies) gets the headers, the body limit and the access policy.
 */
import { Hono } from "hono";
import { setCookie } from "hono/cookie";
import { Layout, renderPage } from "./layout.js";
import { createRunCatalog, type RunCatalog } from "./run-catalog.js";
import { registerRunPages } from "./run-pages.js";
import {
  type AccessPolicy,
  accessControl,
  constantTimeEqual,
  crossSiteRequestRefusal,
  DEFAULT_BODY_LIMIT_BYTES,
  requestBodyLimit,
  SESSION_COOKIE_NAME,
  securityHeaders,
  sessionValue,
} from "./security-middleware.js";
import { APP_CSS, APP_JS } from "./static-assets.js";

/** A sub-app mounted under a path prefix (it inherits the app-wide middleware). */
export interface MountedApp {
  /** Path prefix, such as `/studies`. */
  path: string;
  app: Hono;
  /**
   * Paths below the prefix (given without it) that authenticate by their own credential and so need
   * no admin token off loopback, such as a rater's private link. Default: none.
   */
  isPublicPath?: (path: string) => boolean;
}

/** Options of {@link createWebApp}. */
export interface WebAppOptions {
  /** Directories searched for run directories (simulation, training, evaluation). */
  runDirectories: readonly string[];
  /** Who may use the app (default: loopback only, no token). */
  policy?: AccessPolicy;
  /** Largest request body, bytes (default 64 KiB). */
  bodyLimitBytes?: number;
  /** Sub-apps mounted under their path (default none). */
  mounts?: readonly MountedApp[];
  /** Milliseconds between checks of a watched run for new rounds or metrics (default 500). */
  pollIntervalMs?: number;
}

/** The app plus what it holds open; `close()` stops every poller and closes every database. */
export interface WebApp {
  readonly app: Hono;
  readonly catalog: RunCatalog;
  close(): void;
}

/** Builds the app. Nothing is read until a request comes. */
export function createWebApp({
  runDirectories,
  policy = { kind: "loopback" },
  bodyLimitBytes = DEFAULT_BODY_LIMIT_BYTES,
  mounts = [],
  pollIntervalMs = 500,
}: WebAppOptions): WebApp {
  const app = new Hono();
  app.use("*", securityHeaders());
  app.use("*", requestBodyLimit({ maxBytes: bodyLimitBytes }));
  const isPublicPath = (path: string): boolean =>
    mounts.some(
      (mount) => path.startsWith(`${mount.path}/`) && (mount.isPublicPath?.(path.slice(mount.path.length)) ?? false),
    );
  app.use("*", accessControl({ policy, isPublicPath }));
  app.use("*", crossSiteRequestRefusal());

  app.get("/static/app.css", (context) =>
    context.body(APP_CSS, 200, { "Content-Type": "text/css; charset=utf-8", "Cache-Control": "no-cache" }),
  );
  app.get("/static/app.js", (context) =>
    context.body(APP_JS, 200, { "Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "no-cache" }),
  );
  registerLogin(app, policy);

  const catalog = createRunCatalog({ roots: runDirectories, pollIntervalMs });
  registerRunPages(app, catalog);
  for (const mount of mounts) app.route(mount.path, mount.app);

  app.notFound((context) =>
    context.html(
      renderPage(
        <Layout title="Not found">
          <p>Nothing here.</p>
        </Layout>,
      ),
      404,
    ),
  );
  app.onError((error, context) => {
    const status = (error as { status?: number }).status;
    if (typeof status === "number" && status >= 400 && status < 500) return context.text(error.message, status as 400);
    return context.html(
      renderPage(
        <Layout title="Error">
          <p class="error">{error.message}</p>
        </Layout>,
      ),
      500,
    );
  });
  return { app, catalog, close: () => catalog.close() };
}

/** The login form (only meaningful off loopback): the token, once right, becomes a session cookie. */
function registerLogin(app: Hono, policy: AccessPolicy): void {
  const page = (message?: string) =>
    renderPage(
      <Layout title="Log in">
        <form class="login" method="post" action="/login">
          <label for="token">Admin token</label>
          <input id="token" name="token" type="password" autocomplete="current-password" required />
          <button type="submit">Log in</button>
          {message === undefined ? null : <p class="error">{message}</p>}
        </form>
      </Layout>,
    );
  app.get("/login", (context) => context.html(page()));
  app.post("/login", async (context) => {
    if (policy.kind !== "token") return context.redirect("/", 303);
    const form = await context.req.parseBody();
    const token = typeof form.token === "string" ? form.token : "";
    if (!constantTimeEqual(token, policy.adminToken)) return context.html(page("wrong token"), 401);
    setCookie(context, SESSION_COOKIE_NAME, sessionValue(policy.adminToken), {
      httpOnly: true,
      sameSite: "Strict",
      path: "/",
    });
    return context.redirect("/", 303);
  });
}
