/**
 * The rounds page (`/runs/:id/rounds`): mean observer alignment and engagement before and after
 * revision per round, overall and by initial label, with 95% normal intervals (mean ± 1.96 standard
 * errors over the round's valid scores), as charts and a table.
 */
import type { Hono } from "hono";
import { LineChart, type LineSeries } from "./charts.js";
import { Layout, renderPage } from "./layout.js";
import type { RunCatalog } from "./run-catalog.js";
import { type RoundStatistics, readRoundStatistics, type ScoreMoments } from "./simulation-queries.js";
import { requireSimulation, simulationLinks } from "./society-page.js";

/** z of a two-sided 95% normal interval. */
const Z_95 = 1.959964;

/** The 95% normal interval of a mean, or nulls with fewer than two scores. */
export function meanInterval(moments: ScoreMoments): { lower: number | null; upper: number | null } {
  if (moments.mean === null || moments.standardDeviation === null || moments.count < 2) {
    return { lower: null, upper: null };
  }
  const half = (Z_95 * moments.standardDeviation) / Math.sqrt(moments.count);
  return { lower: moments.mean - half, upper: moments.mean + half };
}

type Metric = "alignmentBefore" | "alignmentAfter" | "engagementBefore" | "engagementAfter";

function series(
  statistics: readonly RoundStatistics[],
  group: RoundStatistics["group"],
  metric: Metric,
  name: string,
): LineSeries {
  return {
    name,
    points: statistics
      .filter((row) => row.group === group)
      .map((row) => ({ x: row.round, y: row[metric].mean, ...meanInterval(row[metric]) })),
  };
}

function cell(moments: ScoreMoments): string {
  if (moments.mean === null) return "n/a";
  const { lower, upper } = meanInterval(moments);
  return lower === null || upper === null
    ? moments.mean.toFixed(2)
    : `${moments.mean.toFixed(2)} [${lower.toFixed(2)}, ${upper.toFixed(2)}]`;
}

/** Registers the rounds route. */
export function registerRoundsPage(app: Hono, catalog: RunCatalog): void {
  const cache = new Map<string, { version: number; runId: string; statistics: RoundStatistics[] }>();
  app.get("/runs/:id/rounds", (context) => {
    const { entry, database, overview } = requireSimulation(catalog, context.req.param("id"));
    // Reading every record takes seconds on a large run: reuse the last result until a writer commits.
    const version = database.pragma("data_version", { simple: true }) as number;
    const cachedResult = cache.get(entry.id);
    const statistics =
      cachedResult?.version === version && cachedResult.runId === overview.runId
        ? cachedResult.statistics
        : readRoundStatistics({ database, runId: overview.runId });
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
              {statistics.map((row) => (
                <tr>
                  <td>{row.round}</td>
                  <td>{row.group}</td>
                  <td>{row.alignmentBefore.count}</td>
                  <td>{cell(row.alignmentBefore)}</td>
                  <td>{cell(row.alignmentAfter)}</td>
                  <td>{cell(row.engagementBefore)}</td>
                  <td>{cell(row.engagementAfter)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Layout>,
      ),
    );
  });
}
