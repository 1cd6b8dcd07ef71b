/**
 * The human-evaluation sub-app, mounted at `/studies` by `serve` (it inherits the app-wide CSP, body
 * limit and access policy):
 *   GET  /:study/rate/:token               a rater's overview (resumable: continue where they stopped)
 *   GET  /:study/rate/:token/items/:n      item n of that rater's own list
 *   POST /:study/rate/:token/items/:n      a vote (CSRF token required), then a redirect (303) onward
 *   GET  /:study/admin?token=<admin token>  the analysis
 *   GET  /static/human-eval.js|css          the keyboard shortcuts and styles
 * An unknown token, study or item is a 404 that says nothing about what exists.
 */
import { Hono } from "hono";
import type { OpenStudy } from "../../eval/human-eval/open-study.js";
import {
  csrfToken,
  isAdminToken,
  isCsrfToken,
  markItemShown,
  raterOfToken,
  raterView,
  submitVote,
} from "../../eval/human-eval/rater-session.js";
import { Layout, renderPage } from "../layout.js";
import { integerParameter } from "../request-parameters.js";
import { AdminPage } from "./admin-page.js";
import { HUMAN_EVAL_CSS, HUMAN_EVAL_JS } from "./human-eval-script.js";
import { nextOpenItem, RaterItemPage, RaterOverview, raterBase } from "./rater-pages.js";
import { withStudy } from "./study-directories.js";

/** Options of {@link createHumanEvalRoutes}. */
export interface HumanEvalRoutesOptions {
  /** The study directories served (called per request, so studies created later appear). */
  studyDirectories: () => readonly string[];
  /** Clock of the seconds per item (ms since the epoch); default `Date.now`. */
  now?: () => number;
}

/**
 * The paths (below the mount) a rater reaches with only their private link: their pages and the
 * script and styles they load. Off loopback these need no admin token; the admin page still does.
 */
export function isHumanEvalPublicPath(path: string): boolean {
  return /^\/[^/]+\/rate\/[^/]+(\/items\/\d+)?$/.test(path) || /^\/static\/human-eval\.(js|css)$/.test(path);
}

function notFound() {
  return renderPage(
    <Layout title="Not found" navigation={[]}>
      <p>This link is not valid.</p>
    </Layout>,
  );
}

/** The sub-app. */
export function createHumanEvalRoutes({ studyDirectories, now = Date.now }: HumanEvalRoutesOptions): Hono {
  const app = new Hono();
  /** The study id of each directory opened so far (a study's id never changes). */
  const studyIds = new Map<string, string>();
  const study = <T,>(studyId: string, work: (opened: OpenStudy) => T): T | undefined =>
    withStudy({ directories: studyDirectories, studyId, work, studyIds });

  app.get("/static/human-eval.js", (context) =>
    context.body(HUMAN_EVAL_JS, 200, { "Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "no-cache" }),
  );
  app.get("/static/human-eval.css", (context) =>
    context.body(HUMAN_EVAL_CSS, 200, { "Content-Type": "text/css; charset=utf-8", "Cache-Control": "no-cache" }),
  );

  app.get("/:study/rate/:token", (context) => {
    const token = context.req.param("token");
    const html = study(context.req.param("study"), (opened) => {
      const raterId = raterOfToken({ study: opened, token });
      if (raterId === undefined) return undefined;
      return renderPage(<RaterOverview study={opened} view={raterView({ study: opened, raterId })} token={token} />);
    });
    return html === undefined ? context.html(notFound(), 404) : context.html(html);
  });

  app.get("/:study/rate/:token/items/:number", (context) => {
    const token = context.req.param("token");
    const number = integerParameter({ text: context.req.param("number"), name: "item number" });
    const html = study(context.req.param("study"), (opened) => {
      const raterId = raterOfToken({ study: opened, token });
      if (raterId === undefined) return undefined;
      const view = raterView({ study: opened, raterId });
      const item = view.items[number - 1];
      if (item === undefined) return undefined;
      markItemShown({ study: opened, raterId, itemId: item.itemId, now: now() });
      return renderPage(
        <RaterItemPage
          study={opened}
          view={view}
          item={item}
          token={token}
          csrf={csrfToken({ study: opened, raterId })}
        />,
      );
    });
    return html === undefined ? context.html(notFound(), 404) : context.html(html);
  });

  app.post("/:study/rate/:token/items/:number", async (context) => {
    const token = context.req.param("token");
    const number = integerParameter({ text: context.req.param("number"), name: "item number" });
    const form = await context.req.parseBody();
    const field = (name: string): string => (typeof form[name] === "string" ? (form[name] as string) : "");
    const outcome = study(context.req.param("study"), (opened) => {
      const raterId = raterOfToken({ study: opened, token });
      if (raterId === undefined) return { status: 404 as const };
      if (!isCsrfToken({ study: opened, raterId, token: field("csrf") })) return { status: 403 as const };
      const view = raterView({ study: opened, raterId });
      const item = view.items[number - 1];
      if (item === undefined) return { status: 404 as const };
      const result = submitVote({
        study: opened,
        raterId,
        form: {
          itemId: item.itemId,
          choice: field("choice"),
          ratingA: field("ratingA"),
          ratingB: field("ratingB"),
          reason: field("reason"),
        },
        now: now(),
      });
      const base = raterBase({ studyId: opened.studyId, token });
      if (!result.ok) {
        return {
          status: 400 as const,
          html: renderPage(
            <RaterItemPage
              study={opened}
              view={view}
              item={item}
              token={token}
              csrf={csrfToken({ study: opened, raterId })}
              error={result.error}
            />,
          ),
        };
      }
      const next = nextOpenItem(raterView({ study: opened, raterId }), number);
      return { status: 303 as const, location: next === undefined ? base : `${base}/items/${next}` };
    });
    if (outcome === undefined || outcome.status === 404) return context.html(notFound(), 404);
    if (outcome.status === 403) return context.text("refused: the form's CSRF token is missing or wrong", 403);
    if (outcome.status === 400) return context.html(outcome.html, 400);
    return context.redirect(outcome.location, 303);
  });

  app.get("/:study/admin", (context) => {
    const token = context.req.query("token") ?? "";
    const outcome = study(context.req.param("study"), (opened) => {
      if (!isAdminToken({ study: opened, token })) return { status: 401 as const };
      return { status: 200 as const, html: renderPage(<AdminPage study={opened} analysis={opened.analyse()} />) };
    });
    if (outcome === undefined) return context.html(notFound(), 404);
    if (outcome.status === 401) return context.text("the study's admin token is required (?token=...)", 401);
    return context.html(outcome.html);
  });

  return app;
}
