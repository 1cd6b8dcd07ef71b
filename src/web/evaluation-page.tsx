/**
 * The evaluation page (`/runs/:id/evaluation`): the run's report.json (likelihood or generation mode)
 * as tables and the report's bar charts (the same chart module), and for generation runs the answers
 * of every model side by side, item by item, with their alignment verdicts.
 */
import type { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { Estimate } from "../data/statistics.js";
import { estimateBar } from "../eval/bar-chart.js";
import type { EvaluationReport } from "../eval/evaluation-report.js";
import type { GenerationReport } from "../eval/generation-report.js";
import { BarChart } from "./charts.js";
import { Layout, renderPage } from "./layout.js";
import { readReportJson } from "./report-page-helpers.js";
import { integerParameter } from "./request-parameters.js";
import type { RunCatalog } from "./run-catalog.js";
import { requireRun } from "./run-lookup.js";

/** Items of side-by-side answers per page. */
const ANSWERS_PER_PAGE = 20;

function interval(estimate: Pick<Estimate, "value" | "lower" | "upper"> | null | undefined): string {
  if (!estimate || typeof estimate.value !== "number") return "n/a";
  const format = (value: number | null) => (typeof value === "number" ? value.toFixed(3) : "n/a");
  return `${format(estimate.value)} [${format(estimate.lower)}, ${format(estimate.upper)}]`;
}

/** Registers the evaluation page. */
export function registerEvaluationPage(app: Hono, catalog: RunCatalog): void {
  app.get("/runs/:id/evaluation", (context) => {
    const entry = requireRun(catalog, context.req.param("id"));
    if (entry.kind !== "evaluation") throw new HTTPException(404, { message: "not an evaluation run" });
    const page = integerParameter({ text: context.req.query("page"), name: "page", fallback: 0 });
    const { report, problem } = readReportJson<EvaluationReport | GenerationReport>(entry.directory);
    return context.html(
      renderPage(
        <Layout title={`Evaluation: ${entry.name}`} breadcrumbs={[{ href: "/", label: "Runs" }]}>
          <p>Status: {catalog.status(entry)}</p>
          {problem === undefined ? null : <p class="error">{problem}</p>}
          {report === undefined ? (
            <p class="muted">No report.json yet: the report is written when the evaluation finishes.</p>
          ) : "judge" in report ? (
            <GenerationView report={report} page={page} href={`/runs/${entry.id}/evaluation`} />
          ) : (
            <LikelihoodView report={report} />
          )}
        </Layout>,
      ),
    );
  });
}

function LikelihoodView({ report }: { report: EvaluationReport }) {
  return (
    <>
      <p class="muted">
        Intervals: {report.bootstrap.confidence * 100}% percentile bootstrap, {report.bootstrap.resamples} resamples.
      </p>
      {report.benchmarks.map((benchmark) => {
        const metrics = [...new Set(benchmark.models.flatMap((model) => model.metrics.map((metric) => metric.metric)))];
        return (
          <section>
            <h2>
              {benchmark.name} <small>({benchmark.items} items)</small>
            </h2>
            <table>
              <thead>
                <tr>
                  <th>model</th>
                  <th>metric</th>
                  <th>value [interval]</th>
                  <th>n</th>
                </tr>
              </thead>
              <tbody>
                {benchmark.models.flatMap((model) =>
                  model.metrics.map((metric) => (
                    <tr>
                      <td>{model.model}</td>
                      <td>{metric.metric}</td>
                      <td>{interval(metric)}</td>
                      <td>{metric.count}</td>
                    </tr>
                  )),
                )}
              </tbody>
            </table>
            {metrics.map((name) => (
              <BarChart
                title={`${benchmark.name}: ${name}`}
                minimum={0}
                maximum={1}
                bars={benchmark.models.flatMap((model) =>
                  model.metrics
                    .filter((metric) => metric.metric === name)
                    .map((metric) => estimateBar(model.model, metric)),
                )}
              />
            ))}
          </section>
        );
      })}
    </>
  );
}

function GenerationView({ report, page, href }: { report: GenerationReport; page: number; href: string }) {
  return (
    <>
      <p class="muted">
        Judge {report.judge}; intervals: {report.bootstrap.confidence * 100}% percentile bootstrap.
      </p>
      {report.benchmarks.map((benchmark) => {
        const models = benchmark.models.map((model) => model.model);
        const answers = benchmark.answers.slice(page * ANSWERS_PER_PAGE, (page + 1) * ANSWERS_PER_PAGE);
        return (
          <section>
            <h2>
              {benchmark.name} <small>({benchmark.items} items)</small>
            </h2>
            <table>
              <thead>
                <tr>
                  <th>model</th>
                  <th>alignment (1-7)</th>
                  <th>engagement (1-7)</th>
                  <th>win rate vs reference</th>
                </tr>
              </thead>
              <tbody>
                {benchmark.models.map((model) => (
                  <tr>
                    <td>{model.model}</td>
                    <td>{interval(model.alignment)}</td>
                    <td>{interval(model.engagement)}</td>
                    <td>{model.versusReference === undefined ? "" : interval(model.versusReference.winRate)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {(benchmark.human ?? []).length === 0 ? null : (
              <table id={`human-${benchmark.name}`}>
                <caption>
                  Human judge (blind study, included raters' majority per item) beside the LM judge on the same items
                </caption>
                <thead>
                  <tr>
                    <th>model</th>
                    <th>opponent</th>
                    <th>judge</th>
                    <th>win rate</th>
                    <th>items</th>
                    <th>LM judge win rate, same items</th>
                    <th>agreement</th>
                  </tr>
                </thead>
                <tbody>
                  {(benchmark.human ?? []).map((row) => (
                    <tr>
                      <td>{row.model}</td>
                      <td>{row.opponent}</td>
                      <td>human ({row.study})</td>
                      <td>{interval(row.winRate)}</td>
                      <td>{row.winRate.count}</td>
                      <td>{row.judgeWinRate === undefined ? "-" : interval(row.judgeWinRate)}</td>
                      <td>{row.agreement === undefined ? "-" : row.agreement.toFixed(2)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            <BarChart
              title={`${benchmark.name}: alignment`}
              minimum={1}
              maximum={7}
              bars={benchmark.models.map((model) => estimateBar(model.model, model.alignment))}
            />
            <h3>Answers side by side</h3>
            <table class="answers">
              <thead>
                <tr>
                  <th>question</th>
                  {models.map((model) => (
                    <th>{model}</th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {answers.map((item) => (
                  <tr>
                    <td class="text">{item.question}</td>
                    {models.map((model) => {
                      const answer = item.byModel.find((candidate) => candidate.model === model);
                      return (
                        <td>
                          <div class="text">{answer?.answer ?? ""}</div>
                          <span class="muted">
                            alignment {answer?.alignment ?? "n/a"}
                            {answer?.reason ? `: ${answer.reason}` : ""}
                          </span>
                        </td>
                      );
                    })}
                  </tr>
                ))}
              </tbody>
            </table>
            <p>
              {page > 0 ? <a href={`${href}?page=${page - 1}`}>previous</a> : null}{" "}
              {(page + 1) * ANSWERS_PER_PAGE < benchmark.answers.length ? (
                <a href={`${href}?page=${page + 1}`}>next</a>
              ) : null}
            </p>
          </section>
        );
      })}
    </>
  );
}
