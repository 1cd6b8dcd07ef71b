import { describe, expect, it } from "vitest";
import { describeEngine } from "./engine-description.js";

describe("describeEngine", () => {
  it("names the native BLAS library and the SIMD kernels on a machine that has them", () => {
    const description = describeEngine({ threads: 1 });
    expect(description.blasKind).not.toBe("typescript");
    expect(description.blas).toMatch(/1 thread/);
    expect(description.elementwise).toBe("webassembly-simd");
  });

  it("says why it fell back to TypeScript", () => {
    const description = describeEngine({ libraryPaths: ["/nonexistent/libopenblas.so.0"] });
    expect(description.blasKind).toBe("typescript");
    expect(description.blas).toContain("/nonexistent/libopenblas.so.0");
  });
});
