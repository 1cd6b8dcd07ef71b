/**
 * The likelihood report (evaluation-report.ts) as one self-contained HTML page: inline CSS and SVG,
 * no script and a Content-Security-Policy that forbids any fetch, so it opens offline; a table and a
 * bar chart with interval whiskers per benchmark and metric, and the paired differences. Model specs
 * are escaped.
 */
import { escapeHtml, renderBarChart } from "./bar-chart.js";
import type { EvaluationReport } from "./evaluation-report.js";

const STYLE = `body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
th{background:#f3f3f3}.note{color:#555}`;

function number(value: number): string {
  return Number.isFinite(value) ? value.toFixed(4) : "n/a";
}

/** The report as HTML. */
export function formatReportHtml(report: EvaluationReport): string {
  const { confidence, resamples, seed } = report.bootstrap;
  const out = [
    "<!DOCTYPE html>",
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    "<title>Evaluation report</title>",
    `<style>${STYLE}</style></head><body>`,
    "<h1>Evaluation report</h1>",
    `<p class="note">Intervals: ${confidence * 100}% percentile bootstrap over items, ${resamples} resamples, seed ${seed}; recomputed from the items and per-choice scores stored in the run's run.sqlite.</p>`,
  ];
  for (const benchmark of report.benchmarks) {
    out.push(`<h2>${escapeHtml(benchmark.name)} <small>(${benchmark.items} items)</small></h2>`);
    out.push("<table><tr><th>model</th><th>metric</th><th>value</th><th>95% interval</th><th>n</th></tr>");
    for (const model of benchmark.models) {
      for (const metric of model.metrics) {
        out.push(
          `<tr><td>${escapeHtml(model.model)}</td><td>${escapeHtml(metric.metric)}</td><td>${number(metric.value)}</td><td>[${number(metric.lower)}, ${number(metric.upper)}]</td><td>${metric.count}</td></tr>`,
        );
      }
    }
    out.push("</table>");
    const metrics = [...new Set(benchmark.models.flatMap((model) => model.metrics.map((metric) => metric.metric)))];
    for (const name of metrics) {
      out.push(
        renderBarChart({
          title: `${benchmark.name}: ${name}`,
          bars: benchmark.models.flatMap((model) =>
            model.metrics
              .filter((metric) => metric.metric === name)
              .map((metric) => ({ label: model.model, ...metric })),
          ),
          minimum: 0,
          maximum: 1,
        }),
      );
    }
    if (benchmark.differences.length > 0) {
      out.push(
        "<h3>Paired differences over the same items (model minus baseline)</h3>",
        "<table><tr><th>model</th><th>baseline</th><th>metric</th><th>difference</th><th>95% interval</th><th>n</th></tr>",
        ...benchmark.differences.map(
          (difference) =>
            `<tr><td>${escapeHtml(difference.model)}</td><td>${escapeHtml(difference.baseline)}</td><td>${escapeHtml(difference.metric)}</td><td>${number(difference.value)}</td><td>[${number(difference.lower)}, ${number(difference.upper)}]</td><td>${difference.count}</td></tr>`,
        ),
        "</table>",
      );
    }
  }
  out.push("</body></html>");
  return `${out.join("\n")}\n`;
}
