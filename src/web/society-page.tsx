/**
 * The society page (`/runs/:id/society`): the grid as a heat map of the observer's alignment score per
 * agent, a round slider and a before/after-revision choice (a plain GET form, refetched in place by
 * the client script), live through server-sent events while the run is running; each agent links to
 * its interactions (`/runs/:id/agents/:agent`).
 */
import type Database from "better-sqlite3";
import type { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { readSocietyGrid } from "../store/interaction-detail-reader.js";
import { HeatMap, type HeatMapCell, ScoreLegend } from "./charts.js";
import { Layout, renderPage } from "./layout.js";
import { choiceParameter, integerParameter } from "./request-parameters.js";
import type { RunCatalog, RunEntry } from "./run-catalog.js";
import { requireRun } from "./run-lookup.js";
import {
  type RevisionPhase,
  readAgentInteractions,
  readSimulationOverview,
  type SimulationOverview,
} from "./simulation-queries.js";

const PHASES: readonly RevisionPhase[] = ["before", "after"];

/** Breadcrumbs and tabs of a simulation's pages. */
export function simulationLinks(entry: RunEntry) {
  return [
    { href: "/", label: "Runs" },
    { href: `/runs/${entry.id}/society`, label: `${entry.name}: society` },
    { href: `/runs/${entry.id}/rounds`, label: "rounds" },
  ];
}

/** The simulation of a run, or a 404 line when the run holds none (yet). */
export function requireSimulation(
  catalog: RunCatalog,
  id: string,
): { entry: RunEntry; database: Database.Database; overview: SimulationOverview } {
  const entry = requireRun(catalog, id);
  const database = entry.kind === "simulation" ? catalog.database(entry) : undefined;
  const overview = database ? readSimulationOverview(database) : undefined;
  if (!database || !overview) throw new HTTPException(404, { message: `run ${id} holds no simulation yet` });
  return { entry, database, overview };
}

/** Registers the society, grid fragment and agent routes. */
export function registerSocietyPages(app: Hono, catalog: RunCatalog): void {
  const view = (context: { req: { param(name: string): string; query(name: string): string | undefined } }) => {
    const { entry, database, overview } = requireSimulation(catalog, context.req.param("id"));
    const latest = Math.max(overview.latestRound, 0);
    const round = Math.min(
      integerParameter({ text: context.req.query("round"), name: "round", fallback: latest }),
      latest,
    );
    const phase = choiceParameter({
      text: context.req.query("phase"),
      name: "phase",
      choices: PHASES,
      fallback: "after",
    });
    const cells: HeatMapCell[] = readSocietyGrid(database, { runId: overview.runId, round, phase }).map((cell) => ({
      agentId: cell.agentId,
      row: cell.row,
      col: cell.col,
      label: cell.label,
      score: cell.alignment,
    }));
    return { entry, overview, round, phase, cells };
  };

  app.get("/runs/:id/society", (context) => {
    const { entry, overview, round, phase, cells } = view(context);
    const status = catalog.status(entry);
    const grid = <Grid entry={entry} overview={overview} round={round} phase={phase} cells={cells} />;
    return context.html(
      renderPage(
        <Layout title={`Society: ${entry.name}`} breadcrumbs={simulationLinks(entry)}>
          <p>
            Status: <span id="live-status">{status}</span> · {overview.size}×{overview.size} agents · rounds completed:{" "}
            <span id="rounds-completed">{overview.latestRound + 1}</span>
            {overview.rounds === undefined ? "" : ` of ${overview.rounds}`}
          </p>
          <form id="society-form" class="controls" method="get" action={`/runs/${entry.id}/society`}>
            <label for="round">Round</label>
            <input
              id="round"
              name="round"
              type="range"
              min="0"
              max={String(Math.max(overview.latestRound, 0))}
              value={String(round)}
            />
            <output id="round-value" for="round">
              {round}
            </output>
            <label for="phase">Observer score</label>
            <select id="phase" name="phase">
              {PHASES.map((choice) => (
                <option value={choice} selected={choice === phase}>
                  {choice} revision
                </option>
              ))}
            </select>
            <button type="submit">Show</button>
          </form>
          <ScoreLegend />
          <div
            id="grid"
            data-fragment={`/runs/${entry.id}/society/grid`}
            data-form="society-form"
            data-live={status === "running" ? `/runs/${entry.id}/events` : undefined}
          >
            {grid}
          </div>
        </Layout>,
      ),
    );
  });

  app.get("/runs/:id/society/grid", (context) => {
    const { entry, overview, round, phase, cells } = view(context);
    return context.html(String(<Grid entry={entry} overview={overview} round={round} phase={phase} cells={cells} />));
  });

  app.get("/runs/:id/agents/:agent", (context) => {
    const { entry, database, overview } = requireSimulation(catalog, context.req.param("id"));
    const agentId = integerParameter({ text: context.req.param("agent"), name: "agent" });
    const agent = readAgentInteractions({ database, runId: overview.runId, agentId });
    if (!agent) throw new HTTPException(404, { message: `no agent ${agentId} in this run` });
    return context.html(
      renderPage(
        <Layout title={`Agent ${agentId}`} breadcrumbs={simulationLinks(entry)}>
          <p>
            Initial label {agent.label} · grid row {agent.row}, column {agent.col} · model {agent.modelId}
          </p>
          <table id="interactions">
            <thead>
              <tr>
                <th>round</th>
                <th>question</th>
                <th>alignment before</th>
                <th>alignment after</th>
                <th>status</th>
              </tr>
            </thead>
            <tbody>
              {agent.interactions.map((interaction) => (
                <tr>
                  <td>
                    <a href={`/runs/${entry.id}/interactions/${interaction.round}/${agentId}`}>{interaction.round}</a>
                  </td>
                  <td>{interaction.question}</td>
                  <td>{score(interaction.alignmentBefore)}</td>
                  <td>{score(interaction.alignmentAfter)}</td>
                  <td>{interaction.status}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Layout>,
      ),
    );
  });
}

function score(value: number | null): string {
  return value === null ? "invalid" : value.toFixed(1);
}

function Grid({
  entry,
  overview,
  round,
  phase,
  cells,
}: {
  entry: RunEntry;
  overview: SimulationOverview;
  round: number;
  phase: RevisionPhase;
  cells: readonly HeatMapCell[];
}) {
  const scored = cells.flatMap((cell) => (cell.score === null ? [] : [cell.score]));
  const mean = scored.length === 0 ? null : scored.reduce((sum, value) => sum + value, 0) / scored.length;
  return (
    <figure data-round={String(round)} data-phase={phase} data-scored={String(scored.length)}>
      <HeatMap
        cells={cells}
        size={overview.size}
        hrefOf={(cell) => `/runs/${entry.id}/agents/${cell.agentId}?round=${round}`}
      />
      <figcaption>
        Round {round}, observer alignment {phase} revision: {scored.length} of {cells.length} agents scored
        {mean === null ? "" : `, mean ${mean.toFixed(2)}`}
      </figcaption>
    </figure>
  );
}
