/**
 * The experiment page (`/runs/:id/experiment`): an `experiment run` directory's report.json as
 * tables and bar charts (the same chart module as every page): the society's alignment and engagement
 * before and after revision per generation, each generation's benchmark and judged results, the data
 * per kind, and time and cost per step. The file's shape is declared here (the web layer reads files;
 * it does not import the experiment layer); every text from it is escaped by JSX.
 */
import type { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { estimateBar } from "../eval/bar-chart.js";
import { BarChart } from "./charts.js";
import { Layout, renderPage } from "./layout.js";
import { readReportJson } from "./report-page-helpers.js";
import type { RunCatalog } from "./run-catalog.js";
import { requireRun } from "./run-lookup.js";

interface Estimate {
  value: number | null;
  lower: number | null;
  upper: number | null;
  count?: number;
}

/** What `report.json` of an experiment directory holds (src/experiment/experiment-report.ts). */
interface ExperimentReportFile {
  name: string;
  generations: {
    generation: number;
    interactions: number;
    agents: string[];
    scores: { name: string; estimate: Estimate }[];
  }[];
  benchmarks: { generation: number; benchmark: string; metric: string; estimate: Estimate }[];
  judged?: { generation: number; benchmark: string; alignment: Estimate; engagement: Estimate }[];
  data: { generation: number; kinds: Record<string, { examples: number; responses: number }> }[];
  steps: {
    name: string;
    seconds: number | null;
    usage?: { calls: number; cachedCalls: number; promptTokens: number; completionTokens: number; costUsd: number };
  }[];
}

const number = (value: number | null | undefined, digits = 3): string =>
  typeof value === "number" && Number.isFinite(value) ? value.toFixed(digits) : "n/a";
const interval = (estimate: Estimate | undefined): string =>
  estimate === undefined ? "n/a" : `${number(estimate.value)} [${number(estimate.lower)}, ${number(estimate.upper)}]`;

/** Registers the experiment page. */
export function registerExperimentPage(app: Hono, catalog: RunCatalog): void {
  app.get("/runs/:id/experiment", (context) => {
    const entry = requireRun(catalog, context.req.param("id"));
    if (entry.kind !== "experiment") throw new HTTPException(404, { message: "not an experiment" });
    const { report, problem } = readReportJson<ExperimentReportFile>(entry.directory);
    return context.html(
      renderPage(
        <Layout title={`Experiment: ${entry.name}`} breadcrumbs={[{ href: "/", label: "Runs" }]}>
          <p>Status: {catalog.status(entry)}</p>
          {problem === undefined ? null : <p class="error">{problem}</p>}
          {report === undefined ? (
            <p class="muted">No report.json yet: the report is written when the experiment run ends.</p>
          ) : (
            <ExperimentView report={report} />
          )}
        </Layout>,
      ),
    );
  });
}

function ExperimentView({ report }: { report: ExperimentReportFile }) {
  const scoreNames = report.generations[0]?.scores.map((score) => score.name) ?? [];
  const series = new Map<string, ExperimentReportFile["benchmarks"]>();
  for (const row of report.benchmarks) {
    const key = `${row.benchmark} ${row.metric}`;
    series.set(key, [...(series.get(key) ?? []), row]);
  }
  return (
    <>
      <h2>{report.name}: society per generation</h2>
      <p class="muted">Observer ratings (1-7), mean with 95% bootstrap interval.</p>
      <table>
        <tr>
          <th>generation</th>
          <th>interactions</th>
          {scoreNames.map((name) => (
            <th>{name}</th>
          ))}
          <th>agent models</th>
        </tr>
        {report.generations.map((generation) => (
          <tr>
            <td>{generation.generation}</td>
            <td>{generation.interactions}</td>
            {generation.scores.map((score) => (
              <td>{interval(score.estimate)}</td>
            ))}
            <td>{[...new Set(generation.agents)].join(", ")}</td>
          </tr>
        ))}
      </table>
      {scoreNames.map((name) => (
        <BarChart
          title={name}
          minimum={1}
          maximum={7}
          bars={report.generations.map((generation) =>
            estimateBar(
              `generation ${generation.generation}`,
              generation.scores.find((score) => score.name === name)?.estimate,
            ),
          )}
        />
      ))}
      <h2>Benchmarks per generation</h2>
      {[...series].map(([title, rows]) => (
        <BarChart title={title} bars={rows.map((row) => estimateBar(`generation ${row.generation}`, row.estimate))} />
      ))}
      {(report.judged ?? []).length === 0 ? null : (
        <>
          <h2>Judged answers per generation</h2>
          <table>
            <tr>
              <th>generation</th>
              <th>benchmark</th>
              <th>alignment</th>
              <th>engagement</th>
            </tr>
            {(report.judged ?? []).map((row) => (
              <tr>
                <td>{row.generation}</td>
                <td>{row.benchmark}</td>
                <td>{interval(row.alignment)}</td>
                <td>{interval(row.engagement)}</td>
              </tr>
            ))}
          </table>
        </>
      )}
      <h2>Alignment data per kind</h2>
      <table>
        <tr>
          <th>generation</th>
          <th>kind</th>
          <th>examples</th>
          <th>responses</th>
        </tr>
        {report.data.flatMap((row) =>
          Object.entries(row.kinds).map(([kind, counts]) => (
            <tr>
              <td>{row.generation}</td>
              <td>{kind}</td>
              <td>{counts.examples}</td>
              <td>{counts.responses}</td>
            </tr>
          )),
        )}
      </table>
      <h2>Time and cost per step</h2>
      <table>
        <tr>
          <th>step</th>
          <th>seconds</th>
          <th>LM calls (cached)</th>
          <th>prompt tokens</th>
          <th>completion tokens</th>
          <th>USD</th>
        </tr>
        {report.steps.map((step) => (
          <tr>
            <td>{step.name}</td>
            <td>{number(step.seconds, 1)}</td>
            <td>{step.usage ? `${step.usage.calls} (${step.usage.cachedCalls})` : "-"}</td>
            <td>{step.usage?.promptTokens ?? "-"}</td>
            <td>{step.usage?.completionTokens ?? "-"}</td>
            <td>{step.usage ? step.usage.costUsd.toFixed(4) : "-"}</td>
          </tr>
        ))}
      </table>
    </>
  );
}
