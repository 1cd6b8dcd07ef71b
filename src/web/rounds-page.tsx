/**
 * The rounds page (`/runs/:id/rounds`), from `readRoundSummaries`: mean observer alignment and
 * engagement before and after revision per round, overall and by initial label, with 95% normal
 * intervals (mean ± 1.96 standard errors over the round's valid scores), as charts and a table.
 */
import type { Hono } from "hono";
import {
  type GroupScores,
  type IntervalEstimate,
  type RoundScores,
  readRoundSummaries,
} from "../sandbox/round-summaries-reader.js";
import { LineChart, type LineSeries } from "./charts.js";
import { Layout, renderPage } from "./layout.js";
import type { RunCatalog } from "./run-catalog.js";
import { requireSimulation, simulationLinks } from "./society-page.js";

type Metric = "alignmentBefore" | "alignmentAfter" | "engagementBefore" | "engagementAfter";
type Group = "all" | "good" | "bad";

function groupOf(round: RoundScores, group: Group): GroupScores {
  return group === "all" ? round : round.byLabel[group];
}

function series(rounds: readonly RoundScores[], group: Group, metric: Metric, name: string): LineSeries {
  return {
    name,
    points: rounds.map((round) => {
      const estimate = groupOf(round, group)[metric];
      return { x: round.round, y: estimate.mean, lower: estimate.low, upper: estimate.high };
    }),
  };
}

function cell(estimate: IntervalEstimate): string {
  if (estimate.mean === null) return "n/a";
  return estimate.low === null || estimate.high === null
    ? estimate.mean.toFixed(2)
    : `${estimate.mean.toFixed(2)} [${estimate.low.toFixed(2)}, ${estimate.high.toFixed(2)}]`;
}

/** Registers the rounds route. */
export function registerRoundsPage(app: Hono, catalog: RunCatalog): void {
  const cache = new Map<string, { version: number; runId: string; statistics: RoundScores[] }>();
  app.get("/runs/:id/rounds", (context) => {
    const { entry, database, overview } = requireSimulation(catalog, context.req.param("id"));
    // Reading every record takes seconds on a large run: reuse the last result until a writer commits.
    const version = database.pragma("data_version", { simple: true }) as number;
    const cachedResult = cache.get(entry.id);
    const statistics =
      cachedResult?.version === version && cachedResult.runId === overview.runId
        ? cachedResult.statistics
        : readRoundSummaries(database, { runId: overview.runId });
    cache.set(entry.id, { version, runId: overview.runId, statistics });
    const chart = (title: string, before: Metric, after: Metric) => (
      <LineChart
        title={title}
        xLabel="round"
        yMinimum={1}
        yMaximum={7}
        series={[
          series(statistics, "all", before, "all, before"),
          series(statistics, "all", after, "all, after"),
          series(statistics, "good", after, "initially good, after"),
          series(statistics, "bad", after, "initially bad, after"),
        ]}
      />
    );
    return context.html(
      renderPage(
        <Layout title={`Rounds: ${entry.name}`} breadcrumbs={simulationLinks(entry)}>
          <p class="muted">
            Means over valid observer scores (1-7) with 95% normal intervals; before and after each agent's revision.
          </p>
          {chart("Observer alignment", "alignmentBefore", "alignmentAfter")}
          {chart("Observer engagement", "engagementBefore", "engagementAfter")}
          <table id="rounds">
            <thead>
              <tr>
                <th>round</th>
                <th>group</th>
                <th>n</th>
                <th>alignment before</th>
                <th>alignment after</th>
                <th>engagement before</th>
                <th>engagement after</th>
              </tr>
            </thead>
            <tbody>
              {statistics.flatMap((round) =>
                (["all", "good", "bad"] as const).map((group) => {
                  const row = groupOf(round, group);
                  return (
                    <tr>
                      <td>{round.round}</td>
                      <td>{group}</td>
                      <td>{row.interactions}</td>
                      <td>{cell(row.alignmentBefore)}</td>
                      <td>{cell(row.alignmentAfter)}</td>
                      <td>{cell(row.engagementBefore)}</td>
                      <td>{cell(row.engagementAfter)}</td>
                    </tr>
                  );
                }),
              )}
            </tbody>
          </table>
        </Layout>,
      ),
    );
  });
}
