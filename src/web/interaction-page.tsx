/**
 * The interaction page (`/runs/:id/interactions/:round/:agent`), from `readInteractionDetail`: the
 * question, the draft, each peer's rating and feedback in the order the revision prompt listed them,
 * the revision, the observer's scores with reasons, the memories retrieved and the LM calls behind it
 * ("not recorded" for runs older than schema 7). Every model text is shown through JSX, which escapes it.
 */
import type { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import {
  type CallDetail,
  type InteractionDetail,
  type RatingDetail,
  type RetrievalDetail,
  readInteractionDetail,
} from "../store/interaction-detail-reader.js";
import { Layout, renderPage } from "./layout.js";
import { integerParameter } from "./request-parameters.js";
import type { RunCatalog } from "./run-catalog.js";
import { requireSimulation, simulationLinks } from "./society-page.js";

/** Registers the interaction route. */
export function registerInteractionPage(app: Hono, catalog: RunCatalog): void {
  app.get("/runs/:id/interactions/:round/:agent", (context) => {
    const { entry, database, overview } = requireSimulation(catalog, context.req.param("id"));
    const round = integerParameter({ text: context.req.param("round"), name: "round" });
    const agentId = integerParameter({ text: context.req.param("agent"), name: "agent" });
    const detail = readInteractionDetail(database, { runId: overview.runId, round, agentId });
    if (!detail) throw new HTTPException(404, { message: `agent ${agentId} has no interaction in round ${round}` });
    const links = [
      ...simulationLinks(entry),
      { href: `/runs/${entry.id}/agents/${agentId}`, label: `agent ${agentId}` },
    ];
    return context.html(
      renderPage(
        <Layout title={`Round ${round}, agent ${agentId}`} breadcrumbs={links}>
          <DetailView detail={detail} />
        </Layout>,
      ),
    );
  });
}

const NOT_YET = "(not yet)";

function score(rating: RatingDetail | undefined): string {
  if (rating === undefined) return NOT_YET;
  return rating.valid && rating.score !== null ? String(rating.score) : "invalid";
}

function DetailView({ detail }: { detail: InteractionDetail }) {
  return (
    <>
      <p>
        Initial label {detail.label} · grid row {detail.row}, column {detail.col} · {detail.status}
      </p>
      <h2>Question</h2>
      <div class="text" id="question">
        {detail.question}
      </div>
      <div class="columns">
        <section>
          <h2>Draft</h2>
          <div class="text" id="draft">
            {detail.draft?.text ?? NOT_YET}
          </div>
          {detail.draft ? <p class="muted">by {detail.draft.model}</p> : null}
          <Observer alignment={detail.observer.before.alignment} engagement={detail.observer.before.engagement} />
        </section>
        <section>
          <h2>Revision</h2>
          <div class="text" id="revision">
            {detail.revision?.text ?? NOT_YET}
          </div>
          {detail.revision ? <p class="muted">by {detail.revision.model}</p> : null}
          <Observer alignment={detail.observer.after.alignment} engagement={detail.observer.after.engagement} />
        </section>
      </div>
      <h2>Peer feedback, in the order the revision prompt listed it</h2>
      <table id="feedback">
        <thead>
          <tr>
            <th>peer</th>
            <th>model</th>
            <th>rating (1-7)</th>
            <th>feedback</th>
            <th>shown to the agent</th>
          </tr>
        </thead>
        <tbody>
          {detail.peers.map((peer) => (
            <tr>
              <td>{peer.peerId}</td>
              <td>{peer.model}</td>
              <td>{score(peer)}</td>
              <td class="text">{peer.reason ?? "(invalid rating: no feedback)"}</td>
              <td>{peer.shownToAgent ? "yes" : "no"}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Memories retrieved</h2>
      <Memories memories={detail.memories} status={detail.status} />
      <h2>LM calls</h2>
      <Calls calls={detail.calls} />
    </>
  );
}

function Observer({ alignment, engagement }: { alignment?: RatingDetail; engagement?: RatingDetail }) {
  return (
    <dl>
      <dt>Observer alignment: {score(alignment)}</dt>
      <dd class="text">{alignment?.reason ?? (alignment ? "(no reason: rating invalid)" : NOT_YET)}</dd>
      <dt>Observer engagement: {score(engagement)}</dt>
      <dd class="text">{engagement?.reason ?? (engagement ? "(no reason: rating invalid)" : NOT_YET)}</dd>
    </dl>
  );
}

function Memories({
  memories,
  status,
}: {
  memories: RetrievalDetail[] | undefined;
  status: InteractionDetail["status"];
}) {
  // Retrievals are stored when the interaction completes, so a running one has none to show yet.
  if (memories === undefined && status === "running") {
    return (
      <p class="muted" id="memories">
        (not yet: stored when the interaction completes)
      </p>
    );
  }
  if (memories === undefined) {
    return (
      <p class="muted" id="memories">
        not recorded (a run older than schema 7)
      </p>
    );
  }
  if (memories.length === 0) return <p id="memories">none retrieved</p>;
  return (
    <table id="memories">
      <thead>
        <tr>
          <th>retrieved by</th>
          <th>rank</th>
          <th>similarity</th>
          <th>from round</th>
          <th>question</th>
          <th>answer</th>
        </tr>
      </thead>
      <tbody>
        {memories.map((memory) => (
          <tr>
            <td>agent {memory.retrieverId}</td>
            <td>{memory.rank}</td>
            <td>{memory.similarity.toFixed(3)}</td>
            <td>{memory.sourceRound < 0 ? "prior" : memory.sourceRound}</td>
            <td class="text">{memory.question}</td>
            <td class="text">{memory.answer}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Calls({ calls }: { calls: CallDetail[] | undefined }) {
  if (calls === undefined) {
    return (
      <p class="muted" id="calls">
        not recorded (a run older than schema 7, or no usage ledger)
      </p>
    );
  }
  const total = calls.reduce(
    (sum, call) => ({
      tokens: sum.tokens + call.promptTokens + call.completionTokens,
      cost: sum.cost + call.costUsd,
      cached: sum.cached + (call.cacheHit ? 1 : 0),
    }),
    { tokens: 0, cost: 0, cached: 0 },
  );
  return (
    <>
      <p>
        {calls.length} calls · {total.cached} from cache · {total.tokens} tokens · {total.cost.toFixed(6)} USD
      </p>
      <table id="calls">
        <thead>
          <tr>
            <th>step</th>
            <th>peer</th>
            <th>model</th>
            <th>prompt tokens</th>
            <th>completion tokens</th>
            <th>latency (ms)</th>
            <th>cost (USD)</th>
            <th>cache hit</th>
            <th>retries</th>
          </tr>
        </thead>
        <tbody>
          {calls.map((call) => (
            <tr>
              <td>{call.step}</td>
              <td>{call.targetAgentId ?? ""}</td>
              <td>{call.model}</td>
              <td>{call.promptTokens}</td>
              <td>{call.completionTokens}</td>
              <td>{call.latencyMs.toFixed(0)}</td>
              <td>{call.costUsd.toFixed(6)}</td>
              <td>{call.cacheHit ? "yes" : "no"}</td>
              <td>{call.retries ?? "unknown"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
