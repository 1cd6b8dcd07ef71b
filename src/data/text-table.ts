/** Plain-text tables for command output: numbers right-aligned, text left-aligned. */

/** Renders a header row and data rows as aligned columns separated by two spaces. */
export function formatTable({
  header,
  rows,
}: {
  header: readonly string[];
  rows: readonly (readonly (string | number)[])[];
}): string {
  const cells = [
    header.map(String),
    ...rows.map((row) => row.map((cell) => (typeof cell === "number" ? formatNumber(cell) : cell))),
  ];
  const numeric = header.map((_, column) => rows.length > 0 && rows.every((row) => typeof row[column] === "number"));
  const widths = header.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? "").length)));
  const line = (row: readonly string[]): string =>
    row
      .map((cell, column) =>
        numeric[column] ? cell.padStart(widths[column] as number) : cell.padEnd(widths[column] as number),
      )
      .join("  ")
      .trimEnd();
  const rule = widths.map((width) => "-".repeat(width)).join("  ");
  return [line(cells[0] as string[]), rule, ...cells.slice(1).map(line)].join("\n");
}

/** Integers as they are; other numbers with at most two decimals. */
export function formatNumber(value: number): string {
  if (Number.isInteger(value)) return String(value);
  return value.toFixed(2).replace(/\.?0+$/, "");
}
