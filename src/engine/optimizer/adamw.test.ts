import { describe, expect, it } from "vitest";
import { ConfigError } from "../../spec/errors.js";
import { testBackends } from "../testing/backends.js";
import { readFixture, scaledMaxError } from "../testing/fixtures.js";
import { createAdamW } from "./adamw.js";

interface AdamWFixture {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  noDecay: { offset: number; length: number };
  initial: number[];
  gradients: number[][];
  parameters: number[];
  firstMoment: number[];
  secondMoment: number[];
}

describe.each(testBackends())("AdamW on $kind", () => {
  it("matches torch.optim.AdamW over three steps, with a no-decay group", () => {
    const fixture = readFixture<AdamWFixture>("src/engine", "adamw");
    const parameters = Float32Array.from(fixture.initial);
    const gradients = new Float32Array(parameters.length);
    const optimizer = createAdamW({ ...fixture, parameters, gradients, noDecay: [fixture.noDecay] });
    for (const step of fixture.gradients) {
      gradients.set(step);
      optimizer.step();
    }
    expect(optimizer.stepCount).toBe(3);
    expect(scaledMaxError(parameters, fixture.parameters)).toBeLessThan(1e-6);
    expect(scaledMaxError(optimizer.firstMoment, fixture.firstMoment)).toBeLessThan(1e-6);
    expect(scaledMaxError(optimizer.secondMoment, fixture.secondMoment)).toBeLessThan(1e-6);
  });

  it("moves a parameter against its gradient and restores state", () => {
    const parameters = Float32Array.from([1]);
    const gradients = Float32Array.from([2]);
    const optimizer = createAdamW({ parameters, gradients, learningRate: 0.1, weightDecay: 0 });
    optimizer.step();
    // The first bias-corrected step has size learningRate, whatever the gradient's scale.
    expect(parameters[0]).toBeCloseTo(0.9, 6);
    const copy = createAdamW({ parameters: Float32Array.from([0.9]), gradients, learningRate: 0.1, weightDecay: 0 });
    copy.restore({ stepCount: 1, firstMoment: optimizer.firstMoment, secondMoment: optimizer.secondMoment });
    optimizer.step();
    copy.step();
    expect(copy.stepCount).toBe(2);
  });

  it("rejects an invalid setting, naming the field", () => {
    const parameters = new Float32Array(1);
    expect(() => createAdamW({ parameters, gradients: new Float32Array(1), beta2: 1 })).toThrow(ConfigError);
  });
});
