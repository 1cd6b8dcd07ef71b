import { describe, expect, it } from "vitest";
import type { BlasKind } from "./blas.js";
import { blasWarning, describeEngine, describeKernels, formatEngineLine } from "./engine-description.js";
import { blasUnderTest } from "./testing/blas-under-test.js";

describe("describeEngine", () => {
  it("names the BLAS under test and the SIMD kernels, warning exactly for the slow kinds", () => {
    const forced = blasUnderTest();
    const description = describeEngine({ libraryPaths: forced.libraryPaths, threads: 1 });
    if (forced.expectedKind !== undefined) expect(description.blasKind).toBe(forced.expectedKind);
    expect(description.blas).toMatch(/1 thread/);
    expect(description.elementwise).toBe("webassembly-simd");
    expect(description.kernels).toMatch(/^WebAssembly SIMD kernels .*4 GiB/);
    const slow = description.blasKind === "reference" || description.blasKind === "typescript";
    expect(description.blasWarning !== undefined).toBe(slow);
  });

  it("says why it fell back to TypeScript, and warns with the command that installs OpenBLAS", () => {
    const description = describeEngine({ libraryPaths: ["/nonexistent/libopenblas.so.0"], platform: "linux" });
    expect(description.blasKind).toBe("typescript");
    expect(description.blas).toContain("/nonexistent/libopenblas.so.0");
    expect(description.blasWarning).toContain("install OpenBLAS: apt-get install libopenblas0-pthread");
  });
});

describe("blasWarning", () => {
  it("warns about the reference BLAS and about no native BLAS only, with the platform's install command", () => {
    const warnings = Object.fromEntries(
      (["openblas", "accelerate", "reference", "cblas", "typescript"] as const).map((kind: BlasKind) => [
        kind,
        blasWarning({ kind, platform: "linux" }),
      ]),
    );
    expect(warnings.openblas).toBeUndefined();
    expect(warnings.accelerate).toBeUndefined();
    expect(warnings.cblas).toBeUndefined();
    expect(warnings.reference).toMatch(/^the reference BLAS .*35x slower.*apt-get install libopenblas0-pthread$/);
    expect(warnings.typescript).toMatch(/^no native BLAS.*apt-get install libopenblas0-pthread$/);
    expect(blasWarning({ kind: "reference", platform: "darwin" })).toMatch(/brew install openblas$/);
  });
});

describe("formatEngineLine", () => {
  it("is one line naming the BLAS, with the warning when there is one", () => {
    const engine = {
      blasKind: "reference" as const,
      blas: "reference BLAS (netlib, single-threaded) (/usr/lib/x86_64-linux-gnu/blas/libblas.so.3), 1 thread",
      blasThreads: 1,
      elementwise: "webassembly-simd" as const,
      kernels: describeKernels("webassembly-simd"),
      blasWarning: blasWarning({ kind: "reference", platform: "linux" }),
    };
    const line = formatEngineLine(engine);
    expect(line).not.toContain("\n");
    expect(line).toMatch(
      /^engine: BLAS reference BLAS \(netlib.*WebAssembly SIMD kernels .*\. WARNING: the reference BLAS/,
    );
    expect(line).toContain("apt-get install libopenblas0-pthread");
    const fast = formatEngineLine({ ...engine, blasKind: "openblas", blas: "OpenBLAS 0.3.21", blasWarning: undefined });
    expect(fast).toBe(
      "engine: BLAS OpenBLAS 0.3.21; element-wise ops in WebAssembly SIMD kernels (one instance per shared memory of up to 4 GiB, any model size)",
    );
  });
});
