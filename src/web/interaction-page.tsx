/**
 * The interaction page (`/runs/:id/interactions/:round/:agent`): the question, the draft, each peer's
 * rating and feedback as the agent saw them (highest rating first), the revision, the observer's
 * scores with reasons, the memories retrieved and the LM calls behind it. Every model text is shown
 * through JSX, which escapes it.
 */
import type { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { InteractionRecord } from "../spec/interaction-record.js";
import { Layout, renderPage } from "./layout.js";
import { integerParameter } from "./request-parameters.js";
import type { RunCatalog } from "./run-catalog.js";
import { readInteractionRecord } from "./simulation-queries.js";
import { requireSimulation, simulationLinks } from "./society-page.js";

/** Registers the interaction route. */
export function registerInteractionPage(app: Hono, catalog: RunCatalog): void {
  app.get("/runs/:id/interactions/:round/:agent", (context) => {
    const { entry, database, overview } = requireSimulation(catalog, context.req.param("id"));
    const round = integerParameter({ text: context.req.param("round"), name: "round" });
    const agentId = integerParameter({ text: context.req.param("agent"), name: "agent" });
    const found = readInteractionRecord({ database, runId: overview.runId, round, agentId });
    if (!found) throw new HTTPException(404, { message: `agent ${agentId} has no interaction in round ${round}` });
    const links = [
      ...simulationLinks(entry),
      { href: `/runs/${entry.id}/agents/${agentId}`, label: `agent ${agentId}` },
    ];
    return context.html(
      renderPage(
        <Layout title={`Round ${round}, agent ${agentId}`} breadcrumbs={links}>
          <h2>Question</h2>
          <div class="text" id="question">
            {found.question}
          </div>
          {found.record === undefined ? (
            <p class="muted">This interaction is {found.status}; its record is written when it completes.</p>
          ) : (
            <RecordView record={found.record} />
          )}
        </Layout>,
      ),
    );
  });
}

function score(value: number | null): string {
  return value === null ? "invalid" : String(value);
}

function RecordView({ record }: { record: InteractionRecord }) {
  return (
    <>
      <p>
        Initial label {record.label} · agent model {record.models.agent} · observer {record.models.observer}
      </p>
      <div class="columns">
        <section>
          <h2>Draft</h2>
          <div class="text" id="draft">
            {record.draft_answer}
          </div>
          <Observer
            alignment={record.gen_moral_score_before}
            alignmentReason={record.gen_moral_reason_before}
            engagement={record.gen_engagement_score_before}
            engagementReason={record.gen_engagement_reason_before}
          />
        </section>
        <section>
          <h2>Revision</h2>
          <div class="text" id="revision">
            {record.revised_answer}
          </div>
          <Observer
            alignment={record.gen_moral_score_after}
            alignmentReason={record.gen_moral_reason_after}
            engagement={record.gen_engagement_score_after}
            engagementReason={record.gen_engagement_reason_after}
          />
        </section>
      </div>
      <h2>Peer feedback, as the agent saw it</h2>
      <p class="muted">
        Mean valid rating: {record.mean_rating === null ? "none valid" : record.mean_rating.toFixed(2)}
      </p>
      <table id="feedback">
        <thead>
          <tr>
            <th>peer</th>
            <th>model</th>
            <th>rating (1-7)</th>
            <th>feedback</th>
          </tr>
        </thead>
        <tbody>
          {record.target_id.map((peer, index) => (
            <tr>
              <td>{peer}</td>
              <td>{record.models.peers[index] ?? ""}</td>
              <td>{score(record.rating[index] ?? null)}</td>
              <td class="text">{record.feedback[index] ?? "(invalid rating: no feedback shown)"}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Memories retrieved</h2>
      <p class="muted" id="memories">
        not recorded (this run's store predates retrieved-memory records)
      </p>
      <h2>LM calls</h2>
      <p id="calls">
        {record.usage.calls} calls · {record.usage.prompt_tokens} prompt tokens · {record.usage.completion_tokens}{" "}
        completion tokens · {record.usage.cost_usd.toFixed(6)} USD · {record.timings.duration_ms} ms
      </p>
      <p class="muted">Per-call model, latency, cache hits and retries: not recorded for this run.</p>
    </>
  );
}

function Observer({
  alignment,
  alignmentReason,
  engagement,
  engagementReason,
}: {
  alignment: number | null;
  alignmentReason: string | null;
  engagement: number | null;
  engagementReason: string | null;
}) {
  return (
    <dl>
      <dt>Observer alignment: {score(alignment)}</dt>
      <dd class="text">{alignmentReason ?? "(no reason: rating invalid)"}</dd>
      <dt>Observer engagement: {score(engagement)}</dt>
      <dd class="text">{engagementReason ?? "(no reason: rating invalid)"}</dd>
    </dl>
  );
}
