/** Finding the run a URL names. */
import { HTTPException } from "hono/http-exception";
import type { RunCatalog, RunEntry } from "./run-catalog.js";

/** The run with `id`, or a 404. */
export function requireRun(catalog: RunCatalog, id: string): RunEntry {
  const entry = catalog.find(id);
  if (!entry) throw new HTTPException(404, { message: `no run ${id} under the served directories` });
  return entry;
}
