/**
 * The generation report as Markdown, JSON and one self-contained HTML file (no script, no external
 * reference: it opens offline): tables with intervals, SVG bar charts with interval whiskers per
 * benchmark (bar-chart.ts), the jailbreak drop per template, and the answers of the models side by
 * side with their alignment verdicts. Every model text (answers, prompts, reasons, model names) is
 * escaped in the HTML.
 */
import type { Estimate } from "../data/statistics.js";
import { escapeHtml, renderBarChart } from "./bar-chart.js";
import type { GenerationReport } from "./generation-report.js";

function interval(estimate: Estimate, digits = 2): string {
  if (!Number.isFinite(estimate.value)) return "n/a";
  return `${estimate.value.toFixed(digits)} [${estimate.lower.toFixed(digits)}, ${estimate.upper.toFixed(digits)}]`;
}

/** Markdown cells hold one line with no pipes. */
function cell(text: string): string {
  return text.replace(/\s+/g, " ").replaceAll("|", "\\|");
}

/** The report as Markdown. */
export function formatGenerationMarkdown(report: GenerationReport): string {
  const lines: string[] = [
    "# Generation evaluation",
    "",
    `Judge: ${report.judge}. Intervals: ${report.bootstrap.confidence * 100}% percentile bootstrap, ${report.bootstrap.resamples} resamples, seed ${report.bootstrap.seed}. Alignment and engagement: 1-7 observer rubric, valid verdicts only. Win rate vs reference: both orders, disagreement = tie, (wins + ties/2)/n; length-controlled: logistic on tanh(length difference / sd), item term dropped, L2-penalised.`,
    "",
  ];
  for (const benchmark of report.benchmarks) {
    lines.push(`## ${benchmark.name} (${benchmark.items} items)`, "");
    lines.push(
      "| model | alignment | engagement | invalid verdicts (alignment/engagement) | win rate vs reference | length-controlled |",
    );
    lines.push("| --- | --- | --- | --- | --- | --- |");
    for (const model of benchmark.models) {
      const versus = model.versusReference;
      lines.push(
        `| ${cell(model.model)} | ${interval(model.alignment)} | ${interval(model.engagement)} | ${model.invalidAlignment}/${model.invalidEngagement} | ${versus ? interval(versus.winRate) : "-"} | ${versus ? interval(versus.lengthControlled) : "-"} |`,
      );
    }
    lines.push("");
    if (benchmark.human.length > 0) {
      lines.push(
        "Human judge (blind pairwise study, included raters' majority per item) beside the LM judge on the same items (its rubric's higher rating wins):",
        "",
        "| model | opponent | judge | win rate | items | LM judge win rate, same items | agreement |",
        "| --- | --- | --- | --- | --- | --- | --- |",
      );
      for (const row of benchmark.human) {
        lines.push(
          `| ${cell(row.model)} | ${cell(row.opponent)} | human (${cell(row.study)}) | ${interval(row.winRate)} | ${row.winRate.count} | ${row.judgeWinRate ? interval(row.judgeWinRate) : "-"} | ${row.agreement === undefined ? "-" : row.agreement.toFixed(2)} |`,
        );
      }
      lines.push("");
    }
    if (benchmark.jailbreak.length > 0) {
      lines.push("| model | template | plain | wrapped | alignment drop |", "| --- | --- | --- | --- | --- |");
      for (const drop of benchmark.jailbreak) {
        lines.push(
          `| ${cell(drop.model)} | ${cell(drop.template)} | ${interval(drop.plain)} | ${interval(drop.wrapped)} | ${interval(drop.drop)} |`,
        );
      }
      lines.push("");
    }
  }
  return `${lines.join("\n")}\n`;
}

/** The report as JSON. */
export function formatGenerationJson(report: GenerationReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

function htmlInterval(estimate: Estimate): string {
  return escapeHtml(interval(estimate));
}

const STYLE = `body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}
th{background:#f3f3f3}.answer{white-space:pre-wrap;max-width:480px}.note{color:#555}`;

/**
 * The report as one HTML page: inline CSS, inline SVG, no script and no URL it would fetch (a
 * Content-Security-Policy meta tag forbids any, so even text that escaped escaping could not load
 * or run anything).
 */
export function formatGenerationHtml(report: GenerationReport): string {
  const out: string[] = [
    "<!DOCTYPE html>",
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    "<title>Generation evaluation</title>",
    `<style>${STYLE}</style></head><body>`,
    "<h1>Generation evaluation</h1>",
    `<p class="note">Judge: ${escapeHtml(report.judge)}. Intervals: ${report.bootstrap.confidence * 100}% percentile bootstrap, ${report.bootstrap.resamples} resamples, seed ${report.bootstrap.seed}. Alignment and engagement: the 1-7 observer rubric, valid verdicts only. Win rate against the reference: judged in both orders, a disagreement is a tie, (wins + ties/2)/n; length-controlled: logistic model on tanh(length difference / sd), item term dropped, L2-penalised.</p>`,
  ];
  for (const benchmark of report.benchmarks) {
    out.push(`<h2>${escapeHtml(benchmark.name)} <small>(${benchmark.items} items)</small></h2>`);
    out.push(
      "<table><tr><th>model</th><th>alignment</th><th>engagement</th><th>invalid (alignment/engagement)</th><th>win rate vs reference</th><th>length-controlled</th></tr>",
    );
    for (const model of benchmark.models) {
      const versus = model.versusReference;
      out.push(
        `<tr><td>${escapeHtml(model.model)}</td><td>${htmlInterval(model.alignment)}</td><td>${htmlInterval(model.engagement)}</td><td>${model.invalidAlignment}/${model.invalidEngagement}</td><td>${versus ? htmlInterval(versus.winRate) : "-"}</td><td>${versus ? htmlInterval(versus.lengthControlled) : "-"}</td></tr>`,
      );
    }
    out.push("</table>");
    if (benchmark.human.length > 0) {
      out.push(
        "<h3>Human judge beside the LM judge</h3>",
        "<table><tr><th>model</th><th>opponent</th><th>judge</th><th>win rate</th><th>items</th><th>LM judge win rate, same items</th><th>agreement</th></tr>",
        ...benchmark.human.map(
          (row) =>
            `<tr><td>${escapeHtml(row.model)}</td><td>${escapeHtml(row.opponent)}</td><td>human (${escapeHtml(row.study)})</td><td>${htmlInterval(row.winRate)}</td><td>${row.winRate.count}</td><td>${row.judgeWinRate ? htmlInterval(row.judgeWinRate) : "-"}</td><td>${row.agreement === undefined ? "-" : row.agreement.toFixed(2)}</td></tr>`,
        ),
        "</table>",
      );
    }
    out.push(
      renderBarChart({
        title: `${benchmark.name}: alignment (1-7)`,
        bars: benchmark.models.map((model) => ({ label: model.model, ...model.alignment })),
        minimum: 1,
        maximum: 7,
      }),
    );
    if (benchmark.jailbreak.length > 0) {
      out.push("<h3>Jailbreak templates: alignment drop against the plain prompts</h3>");
      out.push(
        "<table><tr><th>model</th><th>template</th><th>plain</th><th>wrapped</th><th>drop</th></tr>",
        ...benchmark.jailbreak.map(
          (drop) =>
            `<tr><td>${escapeHtml(drop.model)}</td><td>${escapeHtml(drop.template)}</td><td>${htmlInterval(drop.plain)}</td><td>${htmlInterval(drop.wrapped)}</td><td>${htmlInterval(drop.drop)}</td></tr>`,
        ),
        "</table>",
      );
      out.push(
        renderBarChart({
          title: `${benchmark.name}: alignment drop per template`,
          bars: benchmark.jailbreak.map((drop) => ({ label: `${drop.template} (${drop.model})`, ...drop.drop })),
        }),
      );
    }
    if (benchmark.answers.length > 0) {
      const models = benchmark.answers[0]?.byModel.map((answer) => answer.model) ?? [];
      out.push(`<h3>Answers side by side (first ${benchmark.answers.length} items)</h3>`);
      out.push(`<table><tr><th>item</th>${models.map((model) => `<th>${escapeHtml(model)}</th>`).join("")}</tr>`);
      for (const item of benchmark.answers) {
        const cells = item.byModel
          .map(
            (answer) =>
              `<td><div class="answer">${escapeHtml(answer.answer)}</div><p class="note">alignment ${answer.alignment ?? "invalid"}${answer.reason === "" ? "" : `: ${escapeHtml(answer.reason)}`}</p></td>`,
          )
          .join("");
        out.push(
          `<tr><td><b>${escapeHtml(item.itemId)}</b><div class="answer">${escapeHtml(item.prompt)}</div></td>${cells}</tr>`,
        );
      }
      out.push("</table>");
    }
  }
  out.push("</body></html>");
  return `${out.join("\n")}\n`;
}
