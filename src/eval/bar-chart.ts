/**
 * SVG bar charts with interval whiskers, as one self-contained `<svg>` string (no script, no external
 * reference), for the HTML report and the web app. Every label is escaped, so model names and other
 * untrusted text cannot inject markup.
 */

/** One bar: a label, its value and the interval drawn as a whisker. */
export interface ChartBar {
  label: string;
  value: number;
  lower: number;
  upper: number;
}

/** An estimate as a report file holds it; a missing or null bound is drawn as not a number. */
export interface ReportEstimate {
  value?: number | null;
  lower?: number | null;
  upper?: number | null;
}

/** The bar labelled `label` for `estimate`; a missing estimate, value or bound becomes `NaN`. */
export function estimateBar(label: string, estimate: ReportEstimate | undefined): ChartBar {
  return {
    label,
    value: estimate?.value ?? Number.NaN,
    lower: estimate?.lower ?? Number.NaN,
    upper: estimate?.upper ?? Number.NaN,
  };
}

/** Escapes text for HTML and SVG content and attribute values (`&`, `<`, `>`, `"`, `'`). */
export function escapeHtml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

/** Labels longer than 34 characters keep their end (a model spec's distinctive part) after an ellipsis. */
function shortLabel(label: string): string {
  return label.length > 34 ? `\u2026${label.slice(-33)}` : label;
}

function format(value: number): string {
  return Number.isFinite(value) ? value.toFixed(2) : "n/a";
}

/**
 * A horizontal bar chart: one row per bar, the axis from `minimum` to `maximum` (defaults 0 and the
 * largest upper end, at least 1), a zero line when the axis spans zero, whiskers from lower to upper.
 * `width` in pixels, default 640; rows are 26 pixels high. Bars whose value is not finite are drawn
 * as "n/a" with no bar.
 */
export function renderBarChart({
  title,
  bars,
  minimum,
  maximum,
  width = 640,
}: {
  title: string;
  bars: readonly ChartBar[];
  minimum?: number;
  maximum?: number;
  width?: number;
}): string {
  const finite = bars.flatMap((bar) => [bar.value, bar.lower, bar.upper]).filter(Number.isFinite);
  const low = minimum ?? Math.min(0, ...finite);
  const high = maximum ?? Math.max(1, ...finite);
  const labelWidth = 220;
  const plotWidth = width - labelWidth - 60;
  const rowHeight = 26;
  const height = 30 + bars.length * rowHeight + 20;
  const x = (value: number) =>
    labelWidth + ((Math.min(Math.max(value, low), high) - low) / (high - low || 1)) * plotWidth;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<title>${escapeHtml(title)}</title>`,
    `<text x="4" y="18" font-size="14" font-weight="bold">${escapeHtml(title)}</text>`,
  ];
  bars.forEach((bar, index) => {
    const top = 30 + index * rowHeight;
    const middle = top + rowHeight / 2;
    parts.push(
      `<text x="${labelWidth - 6}" y="${middle + 4}" font-size="12" text-anchor="end"><title>${escapeHtml(bar.label)}</title>${escapeHtml(shortLabel(bar.label))}</text>`,
    );
    if (Number.isFinite(bar.value)) {
      const start = x(Math.max(low, Math.min(0, high)));
      const end = x(bar.value);
      parts.push(
        `<rect x="${Math.min(start, end).toFixed(1)}" y="${top + 5}" width="${Math.abs(end - start).toFixed(1)}" height="${rowHeight - 10}" fill="#4c78a8"/>`,
      );
      if (Number.isFinite(bar.lower) && Number.isFinite(bar.upper)) {
        const left = x(bar.lower).toFixed(1);
        const right = x(bar.upper).toFixed(1);
        parts.push(
          `<line class="whisker" x1="${left}" x2="${right}" y1="${middle}" y2="${middle}" stroke="#222" stroke-width="1.5"/>`,
          `<line x1="${left}" x2="${left}" y1="${middle - 5}" y2="${middle + 5}" stroke="#222"/>`,
          `<line x1="${right}" x2="${right}" y1="${middle - 5}" y2="${middle + 5}" stroke="#222"/>`,
        );
      }
    }
    parts.push(
      `<text x="${labelWidth + plotWidth + 6}" y="${middle + 4}" font-size="11">${escapeHtml(format(bar.value))}</text>`,
    );
  });
  if (low < 0 && high > 0) {
    const zero = x(0).toFixed(1);
    parts.push(`<line x1="${zero}" x2="${zero}" y1="28" y2="${height - 18}" stroke="#999" stroke-dasharray="3,3"/>`);
  }
  parts.push(
    `<text x="${labelWidth}" y="${height - 4}" font-size="10">${escapeHtml(format(low))}</text>`,
    `<text x="${labelWidth + plotWidth}" y="${height - 4}" font-size="10" text-anchor="end">${escapeHtml(format(high))}</text>`,
    "</svg>",
  );
  return parts.join("\n");
}
