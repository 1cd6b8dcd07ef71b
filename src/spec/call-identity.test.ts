import { describe, expect, it } from "vitest";
import { formatSimulationCallIdentity, parseSimulationCallIdentity } from "./call-identity.js";

describe("simulation call identity", () => {
  it("keeps the text the response cache was keyed on", () => {
    expect(formatSimulationCallIdentity({ runId: "abc", round: 3, agentId: 17, step: "draft" })).toBe(
      "run:abc/round:3/agent:17/draft",
    );
    expect(formatSimulationCallIdentity({ runId: "abc", round: 0, agentId: 1, step: "peer-rating", peerId: 4 })).toBe(
      "run:abc/round:0/agent:1/peer-rating/peer:4",
    );
  });

  it("parses every Back-Scatter step into its kind, with the rating peer and attempt", () => {
    expect(parseSimulationCallIdentity("run:abc/round:3/agent:17/peer-rating/peer:4/attempt:2")).toEqual({
      runId: "abc",
      round: 3,
      agentId: 17,
      step: "peer-rating",
      kind: "rating",
      targetAgentId: 4,
      attempt: 2,
    });
    const kinds = ["draft", "revision", "observer-alignment-before", "observer-engagement-after"].map(
      (step) =>
        parseSimulationCallIdentity(formatSimulationCallIdentity({ runId: "x", round: 1, agentId: 2, step }))?.kind,
    );
    expect(kinds).toEqual(["draft", "revision", "observer", "observer"]);
  });

  it("answers undefined for identities of other callers", () => {
    for (const identity of [undefined, "run:a/agent:1", "eval/item-3/both", "run:a/round:1/agent:2/gossip"]) {
      expect(parseSimulationCallIdentity(identity)).toBeUndefined();
    }
  });
});
