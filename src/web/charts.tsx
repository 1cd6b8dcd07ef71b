/**
 * The web app's charts, drawn on the server as SVG (no script, nothing external): the society heat
 * map, line charts with interval bands, and the evaluation bar charts of src/eval/bar-chart.ts (the
 * same module the HTML report uses). Every label goes through JSX or that module's `escapeHtml`.
 */
import { raw } from "hono/html";
import { type ChartBar, escapeHtml, renderBarChart } from "../eval/bar-chart.js";

/** One cell of the heat map. */
export interface HeatMapCell {
  agentId: number;
  row: number;
  col: number;
  label: string;
  /** The score shown (1-7), or null when none is valid or the agent has not interacted yet. */
  score: number | null;
}

const PALETTE = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#eeca3b", "#9d755d"];

function mix(from: readonly number[], to: readonly number[], share: number): string {
  const channel = (index: number) =>
    Math.round((from[index] ?? 0) + ((to[index] ?? 0) - (from[index] ?? 0)) * share)
      .toString(16)
      .padStart(2, "0");
  return `#${channel(0)}${channel(1)}${channel(2)}`;
}

/** The fill of a 1-7 score: red (1) through yellow (4) to green (7); grey for none. */
export function scoreColor(score: number | null, { minimum = 1, maximum = 7 } = {}): string {
  if (score === null || !Number.isFinite(score)) return "#d0d0d0";
  const share = Math.min(Math.max((score - minimum) / (maximum - minimum), 0), 1);
  const red = [215, 48, 39];
  const yellow = [254, 224, 139];
  const green = [26, 152, 80];
  return share < 0.5 ? mix(red, yellow, share * 2) : mix(yellow, green, (share - 0.5) * 2);
}

/**
 * The grid as a heat map, one square per agent, each a link (`hrefOf`) titled with the agent, its
 * initial label and score; agents whose initial label is `bad` carry a small dark dot. `cellSize` in
 * pixels, default 600 / grid size capped to 8..48. Built as one string (900 cells through JSX cost
 * ~10 ms a page); every interpolated text is escaped with the report's `escapeHtml`, and no model text
 * is part of it.
 */
export function HeatMap({
  cells,
  size,
  hrefOf,
  cellSize = Math.max(8, Math.min(48, Math.floor(600 / Math.max(size, 1)))),
}: {
  cells: readonly HeatMapCell[];
  size: number;
  hrefOf: (cell: HeatMapCell) => string;
  cellSize?: number;
}) {
  const side = size * cellSize;
  const dot = Math.max(1.5, cellSize / 10);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="heat-map" role="img" width="${side}" height="${side}" viewBox="0 0 ${side} ${side}">`,
    "<title>Observer alignment score per agent</title>",
  ];
  for (const cell of cells) {
    const x = cell.col * cellSize;
    const y = cell.row * cellSize;
    const title = `agent ${cell.agentId} (${cell.label}): ${cell.score === null ? "no score" : cell.score.toFixed(1)}`;
    parts.push(
      `<a href="${escapeHtml(hrefOf(cell))}" data-agent="${cell.agentId}"><rect x="${x}" y="${y}" width="${cellSize - 1}" height="${cellSize - 1}" fill="${scoreColor(cell.score)}"><title>${escapeHtml(title)}</title></rect>`,
      cell.label === "bad"
        ? `<circle cx="${x + cellSize / 2}" cy="${y + cellSize / 2}" r="${dot}" fill="#222"/></a>`
        : "</a>",
    );
  }
  parts.push("</svg>");
  return raw(parts.join(""));
}

/** The colour legend of the heat map (1 to 7). */
export function ScoreLegend() {
  return (
    <div class="legend">
      <span>1</span>
      <svg xmlns="http://www.w3.org/2000/svg" width="140" height="14" viewBox="0 0 140 14" role="img">
        <title>score colours from 1 to 7</title>
        {[1, 2, 3, 4, 5, 6, 7].map((score, index) => (
          <rect x={index * 20} y="0" width="20" height="14" fill={scoreColor(score)} />
        ))}
      </svg>
      <span>7</span>
      <span class="muted">· grey: no valid score · dot: initially bad agent</span>
    </div>
  );
}

/** One point of a line; `lower`/`upper` draw an interval band when both are given. */
export interface LinePoint {
  x: number;
  y: number | null;
  lower?: number | null;
  upper?: number | null;
}

/** One line of a chart. */
export interface LineSeries {
  name: string;
  points: readonly LinePoint[];
}

/**
 * A line chart: one polyline per series (gaps where y is null), a translucent band where points carry
 * intervals, axes with the x and y ranges, and a legend. `width` and `height` in pixels (default 640 x 260).
 */
export function LineChart({
  title,
  series,
  width = 640,
  height = 260,
  yMinimum,
  yMaximum,
  xLabel = "",
}: {
  title: string;
  series: readonly LineSeries[];
  width?: number;
  height?: number;
  yMinimum?: number;
  yMaximum?: number;
  xLabel?: string;
}) {
  const points = series.flatMap((line) => line.points);
  const xs = points.map((point) => point.x);
  const ys = points
    .flatMap((point) => [point.y, point.lower ?? null, point.upper ?? null])
    .filter((value): value is number => value !== null && Number.isFinite(value));
  const xLow = xs.length === 0 ? 0 : Math.min(...xs);
  const xHigh = xs.length === 0 ? 1 : Math.max(...xs);
  let yLow = yMinimum ?? (ys.length === 0 ? 0 : Math.min(...ys));
  let yHigh = yMaximum ?? (ys.length === 0 ? 1 : Math.max(...ys));
  if (yHigh === yLow) {
    // A constant series (a fixed learning rate) sits in the middle of a small range around it.
    const pad = Math.abs(yLow) * 0.1 || 1;
    yLow -= pad;
    yHigh += pad;
  }
  const left = 56;
  const right = 150;
  const top = 28;
  const bottom = 34;
  const plotWidth = width - left - right;
  const plotHeight = height - top - bottom;
  const x = (value: number) => left + ((value - xLow) / (xHigh - xLow || 1)) * plotWidth;
  const y = (value: number) =>
    top + plotHeight - ((Math.min(Math.max(value, yLow), yHigh) - yLow) / (yHigh - yLow || 1)) * plotHeight;
  const format = (value: number) =>
    Math.abs(value) >= 100 || Number.isInteger(value) ? String(value) : value.toPrecision(3);
  return (
    <svg
      xmlns="http://www.w3.org/2000/svg"
      class="line-chart"
      role="img"
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
    >
      <title>{title}</title>
      <text x="4" y="18" font-size="14" font-weight="bold">
        {title}
      </text>
      <line x1={left} x2={left} y1={top} y2={top + plotHeight} stroke="#999" />
      <line x1={left} x2={left + plotWidth} y1={top + plotHeight} y2={top + plotHeight} stroke="#999" />
      <text x={left - 4} y={top + 4} font-size="10" text-anchor="end">
        {format(yHigh)}
      </text>
      <text x={left - 4} y={top + plotHeight} font-size="10" text-anchor="end">
        {format(yLow)}
      </text>
      <text x={left} y={height - 18} font-size="10">
        {format(xLow)}
      </text>
      <text x={left + plotWidth} y={height - 18} font-size="10" text-anchor="end">
        {format(xHigh)}
      </text>
      <text x={left + plotWidth / 2} y={height - 4} font-size="11" text-anchor="middle">
        {xLabel}
      </text>
      {ys.length === 0 ? (
        <text x={left + plotWidth / 2} y={top + plotHeight / 2} font-size="12" text-anchor="middle" fill="#666">
          no data yet
        </text>
      ) : null}
      {series.map((line, index) => {
        const color = PALETTE[index % PALETTE.length] ?? "#333";
        const banded = line.points.filter(
          (point) => typeof point.lower === "number" && typeof point.upper === "number",
        ) as (LinePoint & { lower: number; upper: number })[];
        const band =
          banded.length > 1
            ? [
                ...banded.map((point) => `${x(point.x).toFixed(1)},${y(point.upper).toFixed(1)}`),
                ...[...banded].reverse().map((point) => `${x(point.x).toFixed(1)},${y(point.lower).toFixed(1)}`),
              ].join(" ")
            : undefined;
        const segments: string[][] = [[]];
        for (const point of line.points) {
          if (point.y === null || !Number.isFinite(point.y)) segments.push([]);
          else segments[segments.length - 1]?.push(`${x(point.x).toFixed(1)},${y(point.y).toFixed(1)}`);
        }
        return (
          <g data-series={line.name}>
            {band === undefined ? null : <polygon points={band} fill={color} fill-opacity="0.18" />}
            {segments
              .filter((segment) => segment.length > 0)
              .map((segment) =>
                segment.length === 1 ? (
                  <circle cx={segment[0]?.split(",")[0]} cy={segment[0]?.split(",")[1]} r="2.5" fill={color} />
                ) : (
                  <polyline points={segment.join(" ")} fill="none" stroke={color} stroke-width="1.8" />
                ),
              )}
            <rect x={left + plotWidth + 10} y={top + index * 16} width="10" height="10" fill={color} />
            <text x={left + plotWidth + 24} y={top + index * 16 + 9} font-size="11">
              {line.name}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

/**
 * A horizontal bar chart with interval whiskers: src/eval/bar-chart.ts's SVG (the evaluation report's
 * chart module), whose every label is escaped there.
 */
export function BarChart(props: { title: string; bars: readonly ChartBar[]; minimum?: number; maximum?: number }) {
  return raw(renderBarChart(props));
}
