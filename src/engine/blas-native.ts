/** Native BLAS through koffi: OpenBLAS on Linux/Windows/Homebrew, Accelerate on macOS. */
import { createRequire } from "node:module";
import type { Blas, BlasKind, MatrixMultiplyOptions } from "./blas.js";
import { checkMatrixMultiply } from "./matrix-multiply-checks.js";

const rowMajor = 101;
const noTranspose = 111;
const transpose = 112;

const candidateLibraries: readonly { path: string; kind: BlasKind }[] = [
  { path: "libopenblas.so.0", kind: "openblas" },
  { path: "libopenblas.so", kind: "openblas" },
  { path: "libopenblas.dll", kind: "openblas" },
  { path: "/opt/homebrew/opt/openblas/lib/libopenblas.dylib", kind: "openblas" },
  { path: "/usr/local/opt/openblas/lib/libopenblas.dylib", kind: "openblas" },
  { path: "/System/Library/Frameworks/Accelerate.framework/Accelerate", kind: "accelerate" },
  // Whatever the system's BLAS alternative is (often OpenBLAS; reference BLAS is slow but still native).
  { path: "libcblas.so.3", kind: "cblas" },
  { path: "libblas.so.3", kind: "cblas" },
];

type KoffiFunction = (...args: unknown[]) => unknown;
interface KoffiLibrary {
  func(signature: string): KoffiFunction;
  unload(): void;
}
interface Koffi {
  load(path: string): KoffiLibrary;
}

function loadKoffi(): Koffi | string {
  try {
    const require = createRequire(import.meta.url);
    return require("koffi") as Koffi;
  } catch (error) {
    return `koffi: ${error instanceof Error ? error.message : String(error)}`;
  }
}

function optionalFunction(library: KoffiLibrary, signature: string): KoffiFunction | undefined {
  try {
    return library.func(signature);
  } catch {
    return undefined;
  }
}

/**
 * Tries `libraryPaths` (default: the usual OpenBLAS/Accelerate locations) in order; returns the first
 * library exporting `cblas_sgemm`, with `threads` set where the library allows it, plus why each
 * attempt failed.
 */
export function loadNativeBlas(options: { libraryPaths?: readonly string[] | undefined; threads: number }): {
  blas: Blas | undefined;
  attempts: string[];
} {
  const attempts: string[] = [];
  const koffi = loadKoffi();
  if (typeof koffi === "string") {
    return { blas: undefined, attempts: [koffi] };
  }
  const candidates =
    options.libraryPaths === undefined
      ? candidateLibraries
      : options.libraryPaths.map((path) => ({
          path,
          kind: (path.includes("Accelerate") ? "accelerate" : "cblas") as BlasKind,
        }));
  for (const candidate of candidates) {
    let library: KoffiLibrary;
    try {
      library = koffi.load(candidate.path);
    } catch (error) {
      attempts.push(`${candidate.path}: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
      continue;
    }
    const sgemm = optionalFunction(
      library,
      "void cblas_sgemm(int order, int transA, int transB, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc)",
    );
    if (sgemm === undefined) {
      attempts.push(`${candidate.path}: no cblas_sgemm`);
      library.unload();
      continue;
    }
    // One-row products (token-by-token decoding) run far faster as matrix-vector products: OpenBLAS's
    // sgemm with m = 1 was measured at under 1 GFLOP/s on a 49152 x 576 output head.
    const sgemv = optionalFunction(
      library,
      "void cblas_sgemv(int order, int trans, int m, int n, float alpha, const float *a, int lda, const float *x, int incx, float beta, float *y, int incy)",
    );
    const setThreads = optionalFunction(library, "void openblas_set_num_threads(int count)");
    const getThreads = optionalFunction(library, "int openblas_get_num_threads()");
    const getConfiguration = optionalFunction(library, "const char *openblas_get_config()");
    const kind: BlasKind = getConfiguration !== undefined ? "openblas" : candidate.kind;
    setThreads?.(Math.max(1, Math.floor(options.threads)));
    const threads = getThreads !== undefined ? Number(getThreads()) : 1;
    const configuration = getConfiguration !== undefined ? String(getConfiguration()) : kind;
    return {
      blas: createNativeBlas({
        sgemm,
        sgemv,
        kind,
        threads,
        description: `${configuration} (${candidate.path}), ${threads} thread${threads === 1 ? "" : "s"}`,
      }),
      attempts,
    };
  }
  return { blas: undefined, attempts };
}

function createNativeBlas(options: {
  sgemm: KoffiFunction;
  sgemv: KoffiFunction | undefined;
  kind: BlasKind;
  threads: number;
  description: string;
}): Blas {
  const { sgemm, sgemv } = options;
  return {
    kind: options.kind,
    threads: options.threads,
    description: options.description,
    matrixMultiply(call: MatrixMultiplyOptions): void {
      checkMatrixMultiply(call);
      const { m, n, k } = call;
      if (m === 0 || n === 0) {
        return;
      }
      const aOffset = call.aOffset ?? 0;
      const bOffset = call.bOffset ?? 0;
      const cOffset = call.cOffset ?? 0;
      if (m === 1 && sgemv !== undefined) {
        // c (1 x n) = alpha * a (1 x k) * op(B) + beta * c, as y = alpha * op'(B) * x + beta * y:
        // B stored n x k (transposeB) is used as is, B stored k x n is transposed. A transposed is a
        // column with stride lda.
        const beta = call.beta ?? 0;
        // BLAS leaves y's old contents in play when beta is 0 on some builds; the contract here ignores them.
        if (beta === 0) call.c.fill(0, cOffset, cOffset + n);
        sgemv(
          rowMajor,
          call.transposeB === true ? noTranspose : transpose,
          call.transposeB === true ? n : k,
          call.transposeB === true ? k : n,
          call.alpha ?? 1,
          bOffset === 0 ? call.b : call.b.subarray(bOffset),
          call.ldb,
          aOffset === 0 ? call.a : call.a.subarray(aOffset),
          call.transposeA === true ? call.lda : 1,
          beta,
          cOffset === 0 ? call.c : call.c.subarray(cOffset),
          1,
        );
        return;
      }
      sgemm(
        rowMajor,
        call.transposeA === true ? transpose : noTranspose,
        call.transposeB === true ? transpose : noTranspose,
        m,
        n,
        k,
        call.alpha ?? 1,
        aOffset === 0 ? call.a : call.a.subarray(aOffset),
        call.lda,
        bOffset === 0 ? call.b : call.b.subarray(bOffset),
        call.ldb,
        call.beta ?? 0,
        cOffset === 0 ? call.c : call.c.subarray(cOffset),
        call.ldc,
      );
    },
  };
}
