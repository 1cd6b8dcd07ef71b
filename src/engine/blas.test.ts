import { describe, expect, it } from "vitest";
import { type BlasKind, createBlas } from "./blas.js";
import { BlasUnavailableError } from "./engine-errors.js";
import { testBackends } from "./testing/backends.js";
import { blasUnderTest, referenceBlasPaths } from "./testing/blas-under-test.js";
import { pseudoRandom } from "./testing/gradient-check.js";

/** Reference product in float64 on plain loops, for every transpose combination. */
function reference(options: {
  transposeA: boolean;
  transposeB: boolean;
  m: number;
  n: number;
  k: number;
  a: Float32Array;
  b: Float32Array;
}) {
  const { transposeA, transposeB, m, n, k, a, b } = options;
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let p = 0; p < k; p++) {
        sum += (a[transposeA ? p * m + i : i * k + p] as number) * (b[transposeB ? j * k + p : p * n + j] as number);
      }
      c[i * n + j] = sum;
    }
  }
  return c;
}

describe.each(testBackends())("matrixMultiply on $name", (backend) => {
  const { blas } = backend;
  it.each([
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ])("computes alpha op(A) op(B) + beta C with transposeA %s, transposeB %s", (transposeA, transposeB) => {
    for (const m of [5, 1]) checkProduct({ transposeA, transposeB, m });
  });

  function checkProduct({ transposeA, transposeB, m }: { transposeA: boolean; transposeB: boolean; m: number }) {
    const n = 7;
    const k = 6;
    const a = pseudoRandom(m * k, 1);
    const b = pseudoRandom(k * n, 2);
    const initial = pseudoRandom(m * n, 3);
    const c = initial.slice();
    blas.matrixMultiply({
      transposeA,
      transposeB,
      m,
      n,
      k,
      alpha: 0.5,
      a,
      lda: transposeA ? m : k,
      b,
      ldb: transposeB ? k : n,
      beta: 2,
      c,
      ldc: n,
    });
    const expected = reference({ transposeA, transposeB, m, n, k, a, b });
    for (let index = 0; index < c.length; index++) {
      expect(c[index]).toBeCloseTo(0.5 * (expected[index] as number) + 2 * (initial[index] as number), 5);
    }
  }

  it("addresses sub-blocks through offsets and leading dimensions, and beta 0 ignores NaN", () => {
    const a = Float32Array.from([9, 1, 2, 9, 3, 4]); // 2 x 2 block at offset 1, lda 3
    const b = Float32Array.from([1, 0, 0, 1]);
    const c = Float32Array.from([Number.NaN, Number.NaN, Number.NaN, Number.NaN, 7]);
    blas.matrixMultiply({ m: 2, n: 2, k: 2, a, aOffset: 1, lda: 3, b, ldb: 2, c, ldc: 2 });
    expect(Array.from(c)).toEqual([1, 2, 3, 4, 7]);
    // One row (the matrix-vector path), offsets, and a NaN in C that beta 0 must ignore.
    const row = Float32Array.from([Number.NaN, Number.NaN, 5]);
    const weight = Float32Array.from([8, 1, 2, 3, 4]); // 2 x 2 stored transposed at offset 1
    blas.matrixMultiply({
      transposeB: true,
      m: 1,
      n: 2,
      k: 2,
      a,
      aOffset: 1,
      lda: 3,
      b: weight,
      bOffset: 1,
      ldb: 2,
      c: row,
      ldc: 2,
    });
    expect(Array.from(row)).toEqual([1 * 1 + 2 * 2, 1 * 3 + 2 * 4, 5]);
  });

  it("describes itself", () => {
    expect(blas.description.length).toBeGreaterThan(10);
    expect(blas.threads).toBe(1);
  });
});

describe("createBlas", () => {
  it("falls back to TypeScript when no library loads, and reports why", () => {
    const missing = ["/nonexistent/libopenblas.so.0"];
    const fallback = createBlas({ libraryPaths: missing });
    expect(fallback.kind).toBe("typescript");
    expect(fallback.description).toContain("/nonexistent/libopenblas.so.0");
    expect(() => createBlas({ backend: "native", libraryPaths: missing })).toThrow(BlasUnavailableError);
    // No paths at all: nothing native is tried, and the error names the command that installs OpenBLAS.
    expect(createBlas({ libraryPaths: [] }).description).toContain("no library paths to try");
    expect(() => createBlas({ backend: "native", libraryPaths: [] })).toThrow(
      /no native BLAS.*apt-get install libopenblas0-pthread.*no library paths to try/,
    );
  });

  it("says which library and thread count it uses", () => {
    const forced = blasUnderTest();
    const blas = createBlas({ libraryPaths: forced.libraryPaths, threads: 2 });
    // The forced library must be classified as what it is; "auto" takes whatever this machine has.
    if (forced.expectedKind !== undefined) expect(blas.kind).toBe(forced.expectedKind);
    const expected: Record<BlasKind, { name: RegExp; threads: number }> = {
      openblas: { name: /^OpenBLAS /, threads: 2 },
      reference: { name: /^reference BLAS \(netlib, single-threaded\) \(/, threads: 1 },
      accelerate: { name: /^Apple Accelerate /, threads: 1 },
      cblas: { name: /^cblas library /, threads: 1 },
      typescript: { name: /^pure TypeScript matrix multiply/, threads: 1 },
    };
    expect(blas.description).toMatch(expected[blas.kind].name);
    expect(blas.threads).toBe(expected[blas.kind].threads);
    expect(blas.description).toContain(`, ${blas.threads} thread${blas.threads === 1 ? "" : "s"}`);
  });

  it("reads the test BLAS setting and refuses an unknown one by name", () => {
    expect(blasUnderTest({ environment: {} })).toEqual({
      setting: "auto",
      libraryPaths: undefined,
      expectedKind: undefined,
    });
    expect(blasUnderTest({ environment: { STABLE_ALIGNMENT_TEST_BLAS: "none" } }).libraryPaths).toEqual([]);
    expect(blasUnderTest({ environment: { STABLE_ALIGNMENT_TEST_BLAS: "reference" } }).libraryPaths).toEqual(
      referenceBlasPaths(),
    );
    expect(referenceBlasPaths({ arch: "arm64" })).toEqual(["/usr/lib/aarch64-linux-gnu/blas/libblas.so.3"]);
    expect(() => blasUnderTest({ environment: { STABLE_ALIGNMENT_TEST_BLAS: "openblas" } })).toThrow(
      "STABLE_ALIGNMENT_TEST_BLAS=openblas is not one of auto, reference, none",
    );
  });
});
