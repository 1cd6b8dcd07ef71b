/**
 * The call identity of a SANDBOX LM call (`GenerateRequest.callIdentity`):
 * `run:<id>/round:<n>/agent:<id>/<step>[/peer:<id>][/attempt:<k>]`. The response cache keys on it, so
 * its text never changes; the usage ledger parses it to say which interaction step a call served.
 */

/** What a call did within an interaction. */
export type CallStepKind = "draft" | "rating" | "feedback" | "revision" | "observer" | "embedding";

/** The parts of a SANDBOX call identity. */
export interface SimulationCallIdentity {
  runId: string;
  round: number;
  /** The interaction's centre agent. */
  agentId: number;
  /** The Back-Scatter step name, e.g. `draft`, `peer-rating`, `observer-alignment-before`. */
  step: string;
  kind: CallStepKind;
  /** The other agent of the call: the peer who rated, for peer ratings; absent otherwise. */
  targetAgentId?: number;
  /** The rating attempt, from 1, when the caller re-asks (see requestRating). */
  attempt?: number;
}

/** The identity of one Back-Scatter call (`peerId` for peer ratings). */
export function formatSimulationCallIdentity({
  runId,
  round,
  agentId,
  step,
  peerId,
}: {
  runId: string;
  round: number;
  agentId: number;
  step: string;
  peerId?: number;
}): string {
  return `run:${runId}/round:${round}/agent:${agentId}/${step}${peerId === undefined ? "" : `/peer:${peerId}`}`;
}

const IDENTITY = /^run:([^/]+)\/round:(-?\d+)\/agent:(\d+)\/([a-z-]+)(?:\/peer:(\d+))?(?:\/attempt:(\d+))?$/;

/** The step kind of a Back-Scatter step name; undefined for a name no step uses. */
export function callStepKind(step: string): CallStepKind | undefined {
  if (step === "draft" || step === "revision" || step === "feedback" || step === "embedding") return step;
  if (step === "peer-rating") return "rating";
  if (step.startsWith("observer-")) return "observer";
  return undefined;
}

/** The parts of a SANDBOX call identity, or undefined for any other identity (or none). */
export function parseSimulationCallIdentity(identity: string | undefined): SimulationCallIdentity | undefined {
  if (identity === undefined) return undefined;
  const match = IDENTITY.exec(identity);
  if (match === null) return undefined;
  const [, runId, round, agentId, step, peerId, attempt] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string | undefined,
    string | undefined,
  ];
  const kind = callStepKind(step);
  if (kind === undefined) return undefined;
  return {
    runId,
    round: Number(round),
    agentId: Number(agentId),
    step,
    kind,
    ...(peerId === undefined ? {} : { targetAgentId: Number(peerId) }),
    ...(attempt === undefined ? {} : { attempt: Number(attempt) }),
  };
}
