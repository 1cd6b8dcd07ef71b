/** A node's completion marker: written last, when its step has finished; its presence means "complete". */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ExperimentNode } from "./experiment-nodes.js";
import type { StepOutcome } from "./experiment-step-context.js";

/** The file a node writes last, when its step has finished. */
export const NODE_COMPLETE_FILE = "node-complete.json";

/** What a completion marker holds. */
export interface NodeMarker extends StepOutcome {
  name: string;
  hash: string;
  finishedAt: string;
  /** Wall-clock seconds of the session that finished the step (an interrupted session's time is not in it). */
  seconds: number;
}

/** Reads a node's completion marker, or undefined when the node has not finished. */
export function readNodeMarker(node: ExperimentNode): NodeMarker | undefined {
  const path = join(node.directory, NODE_COMPLETE_FILE);
  return existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as NodeMarker) : undefined;
}
