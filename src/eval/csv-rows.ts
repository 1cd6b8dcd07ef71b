/**
 * CSV as the benchmark files write it (RFC 4180: comma separated, fields in double quotes may hold
 * commas, quotes doubled, and line breaks). Each row keeps the 1-based line it starts on, so a
 * malformed row names its file and line. A UTF-8 byte-order mark at the start is optional.
 */
import { readFile } from "node:fs/promises";
import { InputError } from "../spec/errors.js";

/** One parsed row and the 1-based line it starts on. */
export interface CsvRow {
  fields: string[];
  line: number;
}

/** Parses CSV text into rows; blank lines are skipped. Throws InputError for an unclosed quote. */
export function parseCsv({ text, file }: { text: string; file: string }): CsvRow[] {
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const rows: CsvRow[] = [];
  let fields: string[] = [];
  let field = "";
  let line = 1;
  let rowLine = 1;
  let quoted = false;
  let index = 0;
  let fieldStarted = false;
  const endRow = (): void => {
    if (fieldStarted || fields.length > 0 || field !== "") {
      fields.push(field);
      rows.push({ fields, line: rowLine });
    }
    fields = [];
    field = "";
    fieldStarted = false;
  };
  while (index < source.length) {
    const character = source[index] as string;
    if (quoted) {
      if (character === '"') {
        if (source[index + 1] === '"') {
          field += '"';
          index += 2;
          continue;
        }
        quoted = false;
      } else {
        if (character === "\n") line += 1;
        field += character;
      }
      index += 1;
      continue;
    }
    if (character === '"' && field === "") {
      quoted = true;
      fieldStarted = true;
    } else if (character === ",") {
      fields.push(field);
      field = "";
      fieldStarted = true;
    } else if (character === "\n" || character === "\r") {
      if (character === "\r" && source[index + 1] === "\n") index += 1;
      endRow();
      line += 1;
      rowLine = line;
    } else {
      field += character;
    }
    index += 1;
  }
  if (quoted) throw new InputError("a quoted field is never closed", { file, line: rowLine });
  endRow();
  return rows;
}

/** Reads and parses a CSV file; a read failure is an InputError naming the file. */
export async function readCsvFile({ path }: { path: string }): Promise<CsvRow[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    throw new InputError(`cannot read file (${(cause as NodeJS.ErrnoException).code ?? String(cause)})`, {
      file: path,
      cause,
    });
  }
  return parseCsv({ text, file: path });
}

/**
 * Rows of a CSV with a header as records keyed by column name. Every `required` column must be in the
 * header (else one InputError naming the file, line 1 and the column) and every row must have as
 * many fields as the header (else the row's line).
 */
export function csvRecords({
  rows,
  file,
  required,
}: {
  rows: readonly CsvRow[];
  file: string;
  required: readonly string[];
}): { record: Record<string, string>; line: number }[] {
  const header = rows[0];
  if (header === undefined) throw new InputError("the file is empty; expected a header row", { file, line: 1 });
  for (const column of required) {
    if (!header.fields.includes(column)) {
      throw new InputError(`missing column "${column}" in the header (found ${header.fields.join(", ")})`, {
        file,
        line: header.line,
      });
    }
  }
  return rows.slice(1).map((row) => {
    if (row.fields.length !== header.fields.length) {
      throw new InputError(
        `expected ${header.fields.length} fields (${header.fields.join(", ")}), found ${row.fields.length}`,
        { file, line: row.line },
      );
    }
    const record: Record<string, string> = {};
    header.fields.forEach((column, position) => {
      record[column] = row.fields[position] as string;
    });
    return { record, line: row.line };
  });
}
