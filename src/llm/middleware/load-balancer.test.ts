import { describe, expect, it } from "vitest";
import type { GenerateResult, LanguageModel } from "../../spec/language-model.js";
import { createLoadBalancer } from "./load-balancer.js";

/** A replica whose calls stay open until released. */
function heldReplica(name: string): LanguageModel & { release: () => void; calls: number } {
  const pending: Array<() => void> = [];
  const replica = {
    provider: "test",
    modelId: name,
    capabilities: { chat: true, completion: true, jsonSchema: name !== "b", grammar: false },
    pricePerMillionTokens: { prompt: 0, completion: 0 },
    calls: 0,
    release: () => {
      for (const resolve of pending.splice(0)) resolve();
    },
    async generate(): Promise<GenerateResult> {
      replica.calls += 1;
      await new Promise<void>((resolve) => pending.push(resolve));
      return { text: name, finishReason: "stop", usage: { promptTokens: 1, completionTokens: 1 }, modelId: name };
    },
  };
  return replica;
}

describe("createLoadBalancer", () => {
  it("breaks ties round-robin and prefers the replica with the fewest calls in flight", async () => {
    const a = heldReplica("a");
    const b = heldReplica("b");
    const c = heldReplica("c");
    const balancer = createLoadBalancer({ replicas: [a, b, c] });
    const firstWave = [1, 2, 3].map(() => balancer.generate({ prompt: "p" }));
    expect(balancer.inFlight()).toEqual([1, 1, 1]);
    b.release();
    expect((await firstWave[1])?.text).toBe("b");
    expect(balancer.inFlight()).toEqual([1, 0, 1]);
    const next = balancer.generate({ prompt: "p" });
    expect(balancer.inFlight()).toEqual([1, 1, 1]);
    expect(balancer.served()).toEqual([1, 2, 1]);
    for (const replica of [a, b, c]) replica.release();
    await Promise.all([...firstWave, next]);
    expect(balancer.inFlight()).toEqual([0, 0, 0]);
  });

  it("shares only the capabilities and price all replicas have", () => {
    const balancer = createLoadBalancer({ replicas: [heldReplica("a"), heldReplica("b")], modelId: "pool" });
    expect(balancer.modelId).toBe("pool");
    expect(balancer.capabilities.jsonSchema).toBe(false);
    expect(balancer.pricePerMillionTokens).toEqual({ prompt: 0, completion: 0 });
    expect(() => createLoadBalancer({ replicas: [] })).toThrow(RangeError);
  });
});
