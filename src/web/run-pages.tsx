/**
 * The routes of the run pages: the runs list at `/`, and per run (by id) the society, rounds,
 * interaction, training, evaluation and experiment pages and the server-sent events of a live run.
 */
import type { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { registerEvaluationPage } from "./evaluation-page.js";
import { registerExperimentPage } from "./experiment-page.js";
import { registerInteractionPage } from "./interaction-page.js";
import { Layout, renderPage } from "./layout.js";
import { registerRoundsPage } from "./rounds-page.js";
import type { RunCatalog, RunEntry, RunSummary } from "./run-catalog.js";
import { requireRun } from "./run-lookup.js";
import { registerSocietyPages } from "./society-page.js";
import { registerTrainingPage } from "./training-page.js";

/** Registers the run pages on `app`. */
export function registerRunPages(app: Hono, catalog: RunCatalog): void {
  app.get("/", (context) => context.html(renderPage(<RunsPage runs={catalog.list()} />)));

  registerSocietyPages(app, catalog);
  registerInteractionPage(app, catalog);
  registerRoundsPage(app, catalog);
  registerTrainingPage(app, catalog);
  registerEvaluationPage(app, catalog);
  registerExperimentPage(app, catalog);

  app.get("/runs/:id/events", (context) => {
    const entry = requireRun(catalog, context.req.param("id"));
    return streamSSE(context, async (stream) => {
      let wake: () => void = () => {};
      const pending: string[] = [];
      const unsubscribe = catalog.watch(entry, (update) => {
        pending.push(JSON.stringify(update));
        wake();
      });
      stream.onAbort(() => {
        unsubscribe();
        wake();
      });
      await stream.writeSSE({ event: "ready", data: JSON.stringify({ status: catalog.status(entry) }) });
      while (!stream.aborted && !stream.closed) {
        const next = pending.shift();
        if (next !== undefined) {
          await stream.writeSSE({ event: "update", data: next });
          continue;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 15_000).unref();
        });
        if (pending.length === 0 && !stream.aborted) await stream.write(": keep-alive\n\n");
      }
      unsubscribe();
    });
  });
}

/** Bytes as a short human size (KiB, MiB, GiB). */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** The first page of a run, by kind. */
export function runHref(run: RunEntry): string {
  return `/runs/${run.id}/${run.kind === "simulation" ? "society" : run.kind}`;
}

function RunsPage({ runs }: { runs: readonly RunSummary[] }) {
  return (
    <Layout title="Runs">
      {runs.length === 0 ? (
        <p class="muted">No simulation, training or evaluation run under the served directories.</p>
      ) : (
        <table id="runs">
          <thead>
            <tr>
              <th>run</th>
              <th>kind</th>
              <th>status</th>
              <th>size</th>
              <th>models</th>
              <th>cost (USD)</th>
              <th>last change</th>
            </tr>
          </thead>
          <tbody>
            {runs.map((run) => (
              <tr>
                <td>
                  <a href={runHref(run)}>{run.name}</a>
                </td>
                <td>{run.kind}</td>
                <td class={`status-${run.status}`}>{run.status}</td>
                <td>{formatBytes(run.sizeBytes)}</td>
                <td>
                  {run.models.join(", ")}
                  {run.problem === undefined ? null : <span class="error">{run.problem}</span>}
                </td>
                <td>{run.costUsd === undefined ? "" : run.costUsd.toFixed(4)}</td>
                <td>{run.modifiedAt === 0 ? "" : new Date(run.modifiedAt).toISOString().replace(/\.\d+Z$/, "Z")}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Layout>
  );
}
