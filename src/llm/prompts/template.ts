/**
 * A minimal template language for prompt files, small enough to read in one sitting:
 * `{{name}}` inserts a value, `{{#if name}}...{{else}}...{{/if}}` keeps a block when the value is
 * present and non-empty, `{{#each name}}...{{/each}}` repeats a block per list item with the item's
 * fields in scope. Unknown names are errors that point at the template's file and line, so a typo in
 * a user's override fails before any model is called.
 */
import { ConfigError } from "../../spec/errors.js";

/** A value a template can use. */
export type TemplateValue = string | number | boolean | null | undefined | readonly TemplateScope[];
/** Named values in scope. */
export type TemplateScope = { readonly [name: string]: TemplateValue };

type Node =
  | { kind: "text"; text: string }
  | { kind: "value"; name: string; line: number }
  | { kind: "if"; name: string; line: number; present: Node[]; otherwise: Node[] }
  | { kind: "each"; name: string; line: number; body: Node[] };

/** A parsed template. */
export interface Template {
  /** Where the text came from, for error messages. */
  readonly source: string;
  /** Every name the template refers to outside `each` blocks. */
  readonly names: ReadonlySet<string>;
  /** The line (from 1) where each of `names` first appears, for error messages. */
  readonly nameLines: ReadonlyMap<string, number>;
  render(scope: TemplateScope): string;
}

const TAG = /\{\{\s*(#if|#each|else|\/if|\/each)?\s*([A-Za-z_][A-Za-z0-9_]*)?\s*\}\}/g;

/** Parses template text; throws ConfigError naming `source` and the line of any unbalanced tag. */
export function parseTemplate(text: string, { source = "template" }: { source?: string } = {}): Template {
  const root: Node[] = [];
  const stack: { node: Node; line: number; inElse: boolean }[] = [];
  const lineAt = (offset: number): number => text.slice(0, offset).split("\n").length;
  const current = (): Node[] => {
    const top = stack[stack.length - 1];
    if (top === undefined) return root;
    if (top.node.kind === "if") return top.inElse ? top.node.otherwise : top.node.present;
    if (top.node.kind === "each") return top.node.body;
    return root;
  };
  const fail = (message: string, line: number): never => {
    throw new ConfigError(`${source}:${line}: ${message}`, { file: source, field: "template" });
  };
  let cursor = 0;
  for (const match of text.matchAll(TAG)) {
    const offset = match.index ?? 0;
    const [, keyword, name] = match;
    let textEnd = offset;
    const previousCursor = cursor;
    cursor = offset + match[0].length;
    if (keyword !== undefined) {
      // A block tag alone on its line takes the whole line with it, so templates can put tags on
      // lines of their own without leaving blank lines in the prompt.
      const lineStart = text.lastIndexOf("\n", offset - 1) + 1;
      const newline = text.indexOf("\n", cursor);
      const lineEnd = newline === -1 ? text.length : newline;
      const alone = text.slice(lineStart, offset).trim() === "" && text.slice(cursor, lineEnd).trim() === "";
      if (alone && lineStart >= previousCursor) {
        textEnd = lineStart;
        cursor = newline === -1 ? text.length : newline + 1;
      }
    }
    if (textEnd > previousCursor) current().push({ kind: "text", text: text.slice(previousCursor, textEnd) });
    const line = lineAt(offset);
    if (keyword === undefined) {
      if (name === undefined) fail(`empty tag ${match[0]}`, line);
      current().push({ kind: "value", name: name as string, line });
    } else if (keyword === "#if" || keyword === "#each") {
      if (name === undefined) fail(`${keyword} needs a name`, line);
      const node: Node =
        keyword === "#if"
          ? { kind: "if", name: name as string, line, present: [], otherwise: [] }
          : { kind: "each", name: name as string, line, body: [] };
      current().push(node);
      stack.push({ node, line, inElse: false });
    } else if (keyword === "else") {
      const top = stack[stack.length - 1];
      if (top === undefined || top.node.kind !== "if" || top.inElse) fail("{{else}} outside an {{#if}}", line);
      (top as { inElse: boolean }).inElse = true;
    } else {
      const top = stack.pop();
      const expected = keyword === "/if" ? "if" : "each";
      if (top === undefined || top.node.kind !== expected)
        fail(`{{${keyword}}} without a matching {{#${expected}}}`, line);
    }
  }
  if (cursor < text.length) current().push({ kind: "text", text: text.slice(cursor) });
  const open = stack[stack.length - 1];
  if (open !== undefined) fail(`{{#${open.node.kind}}} is never closed`, open.line);
  const nameLines = new Map<string, number>();
  const collect = (nodes: readonly Node[]): void => {
    for (const node of nodes) {
      if (node.kind === "text") continue;
      nameLines.set(node.name, Math.min(node.line, nameLines.get(node.name) ?? node.line));
      // Names inside an each block may be the item's fields, so they are not top-level names.
      if (node.kind === "if") {
        collect(node.present);
        collect(node.otherwise);
      }
    }
  };
  collect(root);
  return {
    source,
    names: new Set(nameLines.keys()),
    nameLines,
    render(scope: TemplateScope): string {
      return renderNodes(root, [scope], source);
    },
  };
}

function lookup(name: string, scopes: readonly TemplateScope[], source: string, line: number): TemplateValue {
  for (let index = scopes.length - 1; index >= 0; index -= 1) {
    const scope = scopes[index] as TemplateScope;
    if (Object.hasOwn(scope, name)) return scope[name];
  }
  throw new ConfigError(`${source}:${line}: unknown template variable "${name}"`, { file: source, field: name });
}

function isPresent(value: TemplateValue): boolean {
  if (Array.isArray(value)) return value.length > 0;
  return value !== undefined && value !== null && value !== false && value !== "";
}

function renderNodes(nodes: readonly Node[], scopes: readonly TemplateScope[], source: string): string {
  let output = "";
  for (const node of nodes) {
    if (node.kind === "text") {
      output += node.text;
    } else if (node.kind === "value") {
      const value = lookup(node.name, scopes, source, node.line);
      if (Array.isArray(value)) {
        throw new ConfigError(`${source}:${node.line}: "${node.name}" is a list; use {{#each ${node.name}}}`, {
          file: source,
          field: node.name,
        });
      }
      output += value === undefined || value === null ? "" : String(value);
    } else if (node.kind === "if") {
      const value = lookup(node.name, scopes, source, node.line);
      output += renderNodes(isPresent(value) ? node.present : node.otherwise, scopes, source);
    } else {
      const value = lookup(node.name, scopes, source, node.line);
      if (!Array.isArray(value)) {
        throw new ConfigError(`${source}:${node.line}: {{#each ${node.name}}} needs a list`, {
          file: source,
          field: node.name,
        });
      }
      for (const item of value as readonly TemplateScope[]) output += renderNodes(node.body, [...scopes, item], source);
    }
  }
  return output;
}
