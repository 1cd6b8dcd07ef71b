import { describe, expect, it } from "vitest";
import { checkStepZero, median, STEP_ZERO_TOLERANCE, type TorchRun } from "./torch-side.js";

const torchRun = (overrides: Partial<TorchRun>): TorchRun => ({
  tokensPerSecond: 1000,
  tokensPerCpuSecond: 1000,
  stepSeconds: [1],
  stepCpuSeconds: [1],
  stepTokens: [1000],
  parameters: 100,
  loadedParameters: 100,
  firstLoss: 7.5,
  referenceMeanNll: null,
  torch: "1.13.0",
  torchThreads: 1,
  blasThreads: 1,
  ...overrides,
});

describe("checkStepZero", () => {
  it("accepts equal parameter counts and losses within the tolerance", () => {
    expect(() =>
      checkStepZero({
        what: "small sft",
        ours: { parameters: 100, firstLoss: 7.5 + STEP_ZERO_TOLERANCE / 2 },
        torch: torchRun({}),
      }),
    ).not.toThrow();
  });

  it("refuses a step-0 loss further apart than 1e-4, naming both numbers", () => {
    expect(STEP_ZERO_TOLERANCE).toBe(1e-4);
    expect(() =>
      checkStepZero({ what: "small dpo", ours: { parameters: 100, firstLoss: 7.5003 }, torch: torchRun({}) }),
    ).toThrow(/^small dpo: step-0 loss differs: ours 7\.5003, PyTorch 7\.5 /);
  });

  it("refuses a NaN loss and a different or partly loaded parameter count", () => {
    expect(() =>
      checkStepZero({ what: "tiny", ours: { parameters: 100, firstLoss: Number.NaN }, torch: torchRun({}) }),
    ).toThrow(/step-0 loss differs/);
    expect(() =>
      checkStepZero({ what: "tiny", ours: { parameters: 100, firstLoss: 7.5 }, torch: torchRun({ parameters: 99 }) }),
    ).toThrow("tiny: PyTorch has 99 parameters (100 loaded from our weights), ours 100");
    expect(() =>
      checkStepZero({
        what: "tiny",
        ours: { parameters: 100, firstLoss: 7.5 },
        torch: torchRun({ loadedParameters: 90 }),
      }),
    ).toThrow(/90 loaded from our weights/);
  });
});

describe("median", () => {
  it("takes the middle (upper middle for an even count)", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(3);
    expect(median([])).toBeNaN();
  });
});
