/** Native BLAS through koffi: OpenBLAS on Linux/Windows/Homebrew, Accelerate on macOS, or the system BLAS. */
import { createRequire } from "node:module";
import type { Blas, BlasKind, MatrixMultiplyOptions } from "./blas-interface.js";
import { checkMatrixMultiply } from "./matrix-multiply-checks.js";

const rowMajor = 101;
const noTranspose = 111;
const transpose = 112;

/** Where OpenBLAS, Accelerate and the system BLAS usually are, fastest first. */
const candidateLibraries: readonly string[] = [
  "libopenblas.so.0",
  "libopenblas.so",
  "libopenblas.dll",
  "/opt/homebrew/opt/openblas/lib/libopenblas.dylib",
  "/usr/local/opt/openblas/lib/libopenblas.dylib",
  "/System/Library/Frameworks/Accelerate.framework/Accelerate",
  // Whatever the system's BLAS alternative is: often OpenBLAS, sometimes the slow reference BLAS.
  "libcblas.so.3",
  "libblas.so.3",
];

type KoffiFunction = (...args: unknown[]) => unknown;
interface KoffiLibrary {
  func(signature: string): KoffiFunction;
  /** The address of an exported variable or function; throws when the library does not export it. */
  symbol(name: string): unknown;
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

function exportsSymbol(library: KoffiLibrary, name: string): boolean {
  try {
    library.symbol(name);
    return true;
  } catch {
    return false;
  }
}

/**
 * Tells the libraries apart by what they export: OpenBLAS has `openblas_get_config`; the netlib
 * reference CBLAS keeps its row-major flag in the exported globals `RowMajorStrg` and
 * `CBLAS_CallFromC`, which OpenBLAS, BLIS and MKL do not export; Accelerate is known by its path.
 */
function classifyLibrary(library: KoffiLibrary, path: string): { kind: BlasKind; name: string } {
  const getConfiguration = optionalFunction(library, "const char *openblas_get_config()");
  if (getConfiguration !== undefined) return { kind: "openblas", name: String(getConfiguration()) };
  if (path.includes("Accelerate.framework")) return { kind: "accelerate", name: "Apple Accelerate" };
  if (exportsSymbol(library, "RowMajorStrg") && exportsSymbol(library, "CBLAS_CallFromC")) {
    return { kind: "reference", name: "reference BLAS (netlib, single-threaded)" };
  }
  return { kind: "cblas", name: "cblas library" };
}

function optionalFunction(library: KoffiLibrary, signature: string): KoffiFunction | undefined {
  try {
    return library.func(signature);
  } catch {
    return undefined;
  }
}

/**
 * Tries `libraryPaths` (default: the usual OpenBLAS/Accelerate/system BLAS locations; an empty list
 * tries none) in order; returns the first library exporting `cblas_sgemm`, classified (see BlasKind),
 * with `threads` set where the library allows it, plus why each earlier attempt failed.
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
  for (const path of options.libraryPaths ?? candidateLibraries) {
    let library: KoffiLibrary;
    try {
      library = koffi.load(path);
    } catch (error) {
      attempts.push(`${path}: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
      continue;
    }
    const sgemm = optionalFunction(
      library,
      "void cblas_sgemm(int order, int transA, int transB, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc)",
    );
    if (sgemm === undefined) {
      attempts.push(`${path}: no cblas_sgemm`);
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
    const { kind, name } = classifyLibrary(library, path);
    setThreads?.(Math.max(1, Math.floor(options.threads)));
    const threads = getThreads !== undefined ? Number(getThreads()) : 1;
    return {
      blas: createNativeBlas({
        sgemm,
        sgemv,
        kind,
        threads,
        description: `${name} (${path}), ${threads} thread${threads === 1 ? "" : "s"}`,
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
