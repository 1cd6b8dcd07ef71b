/**
 * `experiment run`: runs a recipe's nodes in order in an experiment directory, one process at a time
 * (the directory's run lock). A node whose completion marker exists is skipped; a node directory
 * without one is an interrupted step, resumed in place; the marker is written last. At the end the
 * report is rewritten from the markers and the nodes' stores (`report.md`, `report.html`).
 */
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { join, relative } from "node:path";
import { writeFileAtomically } from "../model/atomic-writer.js";
import { ConfigError } from "../spec/errors.js";
import { acquireRunLock } from "../store/run-lock.js";
import { checkRecipeEndpoints } from "./endpoint-preflight.js";
import { type ExperimentNode, planNodes } from "./experiment-nodes.js";
import { writeExperimentReport } from "./experiment-report.js";
import type { ExperimentModelSettings } from "./experiment-step-context.js";
import { runStep } from "./experiment-steps.js";
import { NODE_COMPLETE_FILE, type NodeMarker, readNodeMarker } from "./node-marker.js";
import type { LoadedRecipe } from "./recipe.js";

/** The experiment directory's index of its nodes (rewritten at every run). */
export const EXPERIMENT_INDEX_FILE = "experiment.json";

/** Progress of a run, in order. */
export type ExperimentEvent =
  | { type: "plan"; nodes: number; complete: number }
  | { type: "node-skip"; node: ExperimentNode }
  | { type: "node-start"; node: ExperimentNode; resumed: boolean }
  | { type: "node-done"; node: ExperimentNode; marker: NodeMarker }
  | { type: "report"; markdown: string; html: string };

/** Options of {@link runExperiment}. */
export interface RunExperimentOptions {
  recipe: LoadedRecipe;
  /** The experiment directory (created when missing). */
  out: string;
  /** Require `out` to hold an experiment already (the CLI's `--resume`). Default false: start or continue. */
  requireExisting?: boolean;
  models: ExperimentModelSettings;
  onEvent?: (event: ExperimentEvent) => void;
  signal?: AbortSignal;
}

/** Runs (or continues) the experiment; returns every node's marker in plan order. */
export async function runExperiment({
  recipe,
  out,
  requireExisting = false,
  models,
  onEvent,
  signal,
}: RunExperimentOptions): Promise<NodeMarker[]> {
  const indexPath = join(out, EXPERIMENT_INDEX_FILE);
  if (requireExisting && !existsSync(indexPath)) {
    throw new ConfigError(
      `--resume: ${out} holds no experiment (no ${EXPERIMENT_INDEX_FILE}); drop --resume to start one`,
      {
        field: "resume",
        file: indexPath,
      },
    );
  }
  // Everything a plan needs (the recipe's files) is read before the directory is touched.
  const nodes = planNodes({ recipe: recipe.recipe, recipeDirectory: recipe.directory, out });
  const byName = new Map(nodes.map((node) => [node.name, node]));
  // So are the endpoints the steps still to run will call: one that is down is named now, not hours in.
  // (Markers are read again under the lock: another run may have finished nodes in between.)
  await checkRecipeEndpoints({
    recipe,
    pending: nodes.filter((node) => readNodeMarker(node) === undefined),
    ...(models.secrets === undefined ? {} : { secrets: models.secrets }),
  });
  mkdirSync(out, { recursive: true });
  const lock = acquireRunLock({ directory: out, command: "experiment run" });
  try {
    copyFileSync(recipe.file, join(out, "recipe.yaml"));
    writeFileAtomically({
      path: indexPath,
      data: `${JSON.stringify(
        {
          recipe: recipe.file,
          nodes: nodes.map((node) => ({ ...node, directory: relative(out, node.directory) })),
        },
        null,
        2,
      )}\n`,
    });
    const markers: NodeMarker[] = [];
    // Each node's marker as the run begins; only this run writes markers while it holds the lock.
    const finished = new Map(nodes.map((node) => [node.name, readNodeMarker(node)]));
    const complete = [...finished.values()].filter((marker) => marker !== undefined).length;
    onEvent?.({ type: "plan", nodes: nodes.length, complete });
    for (const node of nodes) {
      const done = finished.get(node.name);
      if (done !== undefined) {
        onEvent?.({ type: "node-skip", node });
        markers.push(done);
        continue;
      }
      onEvent?.({ type: "node-start", node, resumed: existsSync(node.directory) });
      mkdirSync(node.directory, { recursive: true });
      const started = performance.now();
      const outcome = await runStep({
        recipe: recipe.recipe,
        recipeDirectory: recipe.directory,
        node,
        nodes: byName,
        models,
        ...(signal ? { signal } : {}),
      });
      const marker: NodeMarker = {
        name: node.name,
        hash: node.hash,
        finishedAt: new Date().toISOString(),
        seconds: Math.round((performance.now() - started) / 100) / 10,
        ...outcome,
      };
      writeFileAtomically({
        path: join(node.directory, NODE_COMPLETE_FILE),
        data: `${JSON.stringify(marker, null, 2)}\n`,
      });
      markers.push(marker);
      onEvent?.({ type: "node-done", node, marker });
    }
    const report = await writeExperimentReport({ recipe: recipe.recipe, nodes, markers, out });
    onEvent?.({ type: "report", ...report });
    return markers;
  } finally {
    lock.release();
  }
}
