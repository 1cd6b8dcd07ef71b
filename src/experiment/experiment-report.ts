/**
 * The experiment's report, recomputed from the nodes' markers and the societies' records: per
 * generation, observer alignment and engagement before and after revision (means with 95% bootstrap
 * intervals over that generation's valid ratings), benchmark results of each generation's model
 * (generation 0 is the start model), alignment data per kind, and time and LM cost per step. Written
 * as `report.md` and a self-contained `report.html` (bar charts from src/eval's bar-chart module).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { bootstrapMean, type Estimate } from "../data/statistics.js";
import { escapeHtml, estimateBar, renderBarChart } from "../eval/bar-chart.js";
import { writeFileAtomically } from "../model/atomic-writer.js";
import type { InteractionRecord } from "../spec/interaction-record.js";
import type { ExperimentNode } from "./experiment-nodes.js";
import type { StepUsage } from "./experiment-step-context.js";
import type { NodeMarker } from "./node-marker.js";
import type { Recipe } from "./recipe.js";

/** The four society scores, in report order. */
const SCORES = [
  ["alignment before", "gen_moral_score_before"],
  ["alignment after", "gen_moral_score_after"],
  ["engagement before", "gen_engagement_score_before"],
  ["engagement after", "gen_engagement_score_after"],
] as const;

/** One generation's society scores. */
export interface GenerationScores {
  generation: number;
  interactions: number;
  agents: string[];
  scores: { name: string; estimate: Estimate }[];
}

/** A benchmark metric of one generation's model. */
export interface GenerationBenchmark {
  generation: number;
  benchmark: string;
  metric: string;
  estimate: Estimate;
}

/** The report's content. */
export interface ExperimentReport {
  name: string;
  generations: GenerationScores[];
  benchmarks: GenerationBenchmark[];
  /** Generation mode: the judge's alignment and engagement ratings of each generation's answers. */
  judged: { generation: number; benchmark: string; alignment: Estimate; engagement: Estimate }[];
  data: { generation: number; kinds: Record<string, { examples: number; responses: number }> }[];
  steps: { name: string; seconds: number; usage: StepUsage | undefined }[];
}

function readRecords(path: string): InteractionRecord[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as InteractionRecord);
}

/** Builds the report from the nodes (plan order) and their markers. */
export function buildExperimentReport({
  recipe,
  nodes,
  markers,
}: {
  recipe: Recipe;
  nodes: readonly ExperimentNode[];
  markers: readonly NodeMarker[];
}): ExperimentReport {
  const markerOf = new Map(markers.map((marker) => [marker.name, marker]));
  const report: ExperimentReport = {
    name: recipe.name ?? "experiment",
    generations: [],
    benchmarks: [],
    judged: [],
    data: [],
    steps: [],
  };
  for (const node of nodes) {
    const marker = markerOf.get(node.name);
    report.steps.push({ name: node.name, seconds: marker?.seconds ?? Number.NaN, usage: marker?.usage });
    const details = marker?.details ?? {};
    if (node.kind === "society") {
      const records = readRecords(join(node.directory, "run", "records.jsonl"));
      const agents = (details.agents as { spec: string }[] | undefined)?.map((agent) => agent.spec) ?? [];
      report.generations.push({
        generation: node.generation,
        interactions: records.length,
        agents,
        scores: SCORES.map(([name, field]) => ({
          name,
          estimate: bootstrapMean({
            values: records.map((record) => record[field]).filter((value): value is number => value !== null),
            seed: recipe.evaluation.seed,
          }),
        })),
      });
    } else if (node.kind === "data") {
      const kinds = (details.kinds ?? {}) as Record<string, { examples: number; responses: number }>;
      report.data.push({ generation: node.generation, kinds });
    } else if (node.kind === "evaluation") {
      const benchmarks = (details.benchmarks ?? []) as {
        name: string;
        metrics: ({ metric: string } & Estimate)[];
      }[];
      for (const benchmark of benchmarks) {
        for (const { metric, ...estimate } of benchmark.metrics) {
          report.benchmarks.push({ generation: node.generation, benchmark: benchmark.name, metric, estimate });
        }
      }
      const judged = (details.judged ?? []) as { name: string; alignment?: Estimate; engagement?: Estimate }[];
      for (const { name, alignment, engagement } of judged) {
        if (alignment && engagement)
          report.judged.push({ generation: node.generation, benchmark: name, alignment, engagement });
      }
    }
  }
  return report;
}

const format = (value: number, digits = 3): string => (Number.isFinite(value) ? value.toFixed(digits) : "n/a");
const interval = (estimate: Estimate): string =>
  `${format(estimate.value)} [${format(estimate.lower)}, ${format(estimate.upper)}] (n ${estimate.count})`;

/** The report as markdown. */
export function formatExperimentMarkdown(report: ExperimentReport): string {
  const lines = [`# Experiment report: ${report.name}`, ""];
  lines.push("## Society per generation", "");
  lines.push("Observer ratings (1-7), mean with 95% bootstrap interval over the generation's valid ratings.", "");
  lines.push(`| generation | interactions | ${SCORES.map(([name]) => name).join(" | ")} |`);
  lines.push(`|---|---|${SCORES.map(() => "---").join("|")}|`);
  for (const generation of report.generations) {
    const cells = generation.scores.map((score) => interval(score.estimate));
    lines.push(`| ${generation.generation} | ${generation.interactions} | ${cells.join(" | ")} |`);
  }
  lines.push("", "Agent models:", "");
  for (const generation of report.generations) {
    lines.push(`- generation ${generation.generation}: ${[...new Set(generation.agents)].join(", ")}`);
  }
  lines.push("", "## Benchmarks per generation", "");
  lines.push("Generation 0 is the start model; generation g's model was trained on generation g's society.", "");
  lines.push("| generation | benchmark | metric | value [95% interval] |", "|---|---|---|---|");
  for (const row of report.benchmarks) {
    lines.push(`| ${row.generation} | ${row.benchmark} | ${row.metric} | ${interval(row.estimate)} |`);
  }
  if (report.judged.length > 0) {
    lines.push("", "## Judged answers per generation", "");
    lines.push("The judge's ratings (1-7) of each generation's answers, mean with 95% bootstrap interval.", "");
    lines.push("| generation | benchmark | alignment | engagement |", "|---|---|---|---|");
    for (const row of report.judged) {
      lines.push(`| ${row.generation} | ${row.benchmark} | ${interval(row.alignment)} | ${interval(row.engagement)} |`);
    }
  }
  lines.push("", "## Alignment data per kind", "", "| generation | kind | examples | responses |", "|---|---|---|---|");
  for (const row of report.data) {
    for (const [kind, counts] of Object.entries(row.kinds)) {
      lines.push(`| ${row.generation} | ${kind} | ${counts.examples} | ${counts.responses} |`);
    }
  }
  lines.push("", "## Time and cost per step", "");
  lines.push(
    "| step | seconds | LM calls (cached) | prompt tokens | completion tokens | USD |",
    "|---|---|---|---|---|---|",
  );
  for (const step of report.steps) {
    const usage = step.usage;
    lines.push(
      `| ${step.name} | ${format(step.seconds, 1)} | ${usage ? `${usage.calls} (${usage.cachedCalls})` : "-"} | ${usage?.promptTokens ?? "-"} | ${usage?.completionTokens ?? "-"} | ${usage ? usage.costUsd.toFixed(4) : "-"} |`,
    );
  }
  lines.push("", "Seconds are those of the session that finished the step.", "");
  return `${lines.join("\n")}`;
}

const STYLE = `body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
th{background:#f3f3f3}.note{color:#555}`;

/** The report as one self-contained HTML page (inline CSS and SVG, no script). */
export function formatExperimentHtml(report: ExperimentReport): string {
  const out = [
    "<!DOCTYPE html>",
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    `<title>Experiment report: ${escapeHtml(report.name)}</title>`,
    `<style>${STYLE}</style></head><body>`,
    `<h1>Experiment report: ${escapeHtml(report.name)}</h1>`,
    "<h2>Society per generation</h2>",
    '<p class="note">Observer ratings (1-7), mean with 95% bootstrap interval over the generation\'s valid ratings.</p>',
  ];
  for (const [name] of SCORES) {
    out.push(
      renderBarChart({
        title: name,
        minimum: 1,
        maximum: 7,
        bars: report.generations.map((generation) =>
          estimateBar(
            `generation ${generation.generation}`,
            generation.scores.find((score) => score.name === name)?.estimate,
          ),
        ),
      }),
    );
  }
  out.push("<h2>Benchmarks per generation</h2>");
  const series = new Map<string, GenerationBenchmark[]>();
  for (const row of report.benchmarks) {
    const key = `${row.benchmark} ${row.metric}`;
    series.set(key, [...(series.get(key) ?? []), row]);
  }
  for (const [title, rows] of series) {
    out.push(
      renderBarChart({
        title,
        bars: rows.map((row) => ({ label: `generation ${row.generation}`, ...row.estimate })),
      }),
    );
  }
  out.push(
    "<h2>Alignment data per kind</h2><table><tr><th>generation</th><th>kind</th><th>examples</th><th>responses</th></tr>",
  );
  for (const row of report.data) {
    for (const [kind, counts] of Object.entries(row.kinds)) {
      out.push(
        `<tr><td>${row.generation}</td><td>${escapeHtml(kind)}</td><td>${counts.examples}</td><td>${counts.responses}</td></tr>`,
      );
    }
  }
  out.push("</table><h2>Time and cost per step</h2>");
  out.push(
    "<table><tr><th>step</th><th>seconds</th><th>LM calls (cached)</th><th>prompt tokens</th><th>completion tokens</th><th>USD</th></tr>",
  );
  for (const step of report.steps) {
    const usage = step.usage;
    out.push(
      `<tr><td>${escapeHtml(step.name)}</td><td>${format(step.seconds, 1)}</td><td>${usage ? `${usage.calls} (${usage.cachedCalls})` : "-"}</td><td>${usage?.promptTokens ?? "-"}</td><td>${usage?.completionTokens ?? "-"}</td><td>${usage ? usage.costUsd.toFixed(4) : "-"}</td></tr>`,
    );
  }
  out.push("</table></body></html>", "");
  return out.join("\n");
}

/**
 * Builds the report and writes `<out>/report.md`, `<out>/report.html` and `<out>/report.json` (the
 * {@link ExperimentReport}, which the web app's experiment page reads); returns the two texts.
 */
export async function writeExperimentReport({
  recipe,
  nodes,
  markers,
  out,
}: {
  recipe: Recipe;
  nodes: readonly ExperimentNode[];
  markers: readonly NodeMarker[];
  out: string;
}): Promise<{ markdown: string; html: string }> {
  const report = buildExperimentReport({ recipe, nodes, markers });
  const markdown = formatExperimentMarkdown(report);
  const html = formatExperimentHtml(report);
  writeFileAtomically({ path: join(out, "report.md"), data: markdown });
  writeFileAtomically({ path: join(out, "report.html"), data: html });
  writeFileAtomically({ path: join(out, "report.json"), data: `${JSON.stringify(report, null, 2)}\n` });
  return { markdown, html };
}
