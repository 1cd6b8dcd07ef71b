/**
 * The page frame every page of the app shares (the human-evaluation pages too): the document head
 * with the app's own stylesheet and script (no inline script or style, so the strict CSP holds), a
 * navigation bar and the page's content. Every text goes through JSX, which escapes it.
 */
import type { Child } from "hono/jsx";

/** One navigation link of the top bar. */
export interface NavigationLink {
  href: string;
  label: string;
}

/** The links of the top bar (default): the runs list. */
export const DEFAULT_NAVIGATION: readonly NavigationLink[] = [{ href: "/", label: "Runs" }];

/**
 * The whole HTML document of a page. `title` goes into `<title>` and the heading; `breadcrumbs`
 * (default none) are shown under the top bar; `children` is the page content.
 */
export function Layout({
  title,
  breadcrumbs = [],
  navigation = DEFAULT_NAVIGATION,
  children,
}: {
  title: string;
  breadcrumbs?: readonly NavigationLink[];
  navigation?: readonly NavigationLink[];
  children?: Child;
}) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${title} · stable-alignment`}</title>
        <link rel="stylesheet" href="/static/app.css" />
        <script src="/static/app.js" defer />
      </head>
      <body>
        <header class="top-bar">
          <a class="brand" href="/">
            stable-alignment
          </a>
          <nav>
            {navigation.map((link) => (
              <a href={link.href}>{link.label}</a>
            ))}
          </nav>
        </header>
        <main>
          {breadcrumbs.length > 0 ? (
            <p class="breadcrumbs">
              {breadcrumbs.map((link, index) => (
                <>
                  {index === 0 ? "" : " / "}
                  <a href={link.href}>{link.label}</a>
                </>
              ))}
            </p>
          ) : null}
          <h1>{title}</h1>
          {children}
        </main>
      </body>
    </html>
  );
}

/** A full page as a string with its doctype, ready for `context.html`. */
export function renderPage(element: unknown): string {
  return `<!DOCTYPE html>${String(element)}`;
}
