import { describe, expect, it } from "vitest";
import { testBackends } from "../testing/backends.js";
import { readFixture, scaledMaxError } from "../testing/fixtures.js";
import { clipGradientNorm } from "./clip-gradient-norm.js";

interface ClipFixture {
  cases: { maxNorm: number; gradients: number[][]; norm: number; clipped: number[][] }[];
}

describe.each(testBackends())("clipGradientNorm on $name", (backend) => {
  it("matches torch.nn.utils.clip_grad_norm_ when clipping and when not", () => {
    const fixture = readFixture<ClipFixture>("src/engine", "clip-gradient-norm");
    expect(fixture.cases.length).toBe(2);
    for (const testCase of fixture.cases) {
      const gradients = testCase.gradients.map((values) => backend.float32(values));
      const norm = clipGradientNorm({ gradients, maxNorm: testCase.maxNorm });
      expect(norm).toBeCloseTo(testCase.norm, 5);
      gradients.forEach((array, index) => {
        expect(scaledMaxError(array, testCase.clipped[index] ?? [])).toBeLessThan(1e-6);
      });
    }
  });

  it("returns a non-finite norm without hiding it", () => {
    const gradients = backend.float32([1, Number.NaN]);
    expect(Number.isNaN(clipGradientNorm({ gradients, maxNorm: 1 }))).toBe(true);
  });
});
