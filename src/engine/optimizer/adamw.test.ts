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

describe.each(testBackends())("AdamW on $name", (backend) => {
  it("matches torch.optim.AdamW over three steps, with a no-decay group", () => {
    const fixture = readFixture<AdamWFixture>("src/engine", "adamw");
    const parameters = backend.float32(fixture.initial);
    const gradients = backend.float32(parameters.length);
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
    const parameters = backend.float32([1]);
    const gradients = backend.float32([2]);
    const optimizer = createAdamW({ parameters, gradients, learningRate: 0.1, weightDecay: 0 });
    optimizer.step();
    // The first bias-corrected step has size learningRate, whatever the gradient's scale.
    expect(parameters[0]).toBeCloseTo(0.9, 5);
    const copy = createAdamW({ parameters: backend.float32([0.9]), gradients, learningRate: 0.1, weightDecay: 0 });
    copy.restore({ stepCount: 1, firstMoment: optimizer.firstMoment, secondMoment: optimizer.secondMoment });
    optimizer.step();
    copy.step();
    expect(copy.stepCount).toBe(2);
  });

  it("rejects an invalid setting, naming the field", () => {
    const parameters = backend.float32(1);
    expect(() => createAdamW({ parameters, gradients: backend.float32(1), beta2: 1 })).toThrow(ConfigError);
  });
});
