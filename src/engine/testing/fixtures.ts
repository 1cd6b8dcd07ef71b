/**
 * Helpers for the engine's and model's tests: reading PyTorch fixtures, decoding their arrays, the
 * integer hash both sides derive model weights from, and closeness measures. No test-runner imports,
 * so the helpers stay plain library code.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (three levels above this file). */
export const repositoryRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

/** Who wrote a fixture: the script, its SHA-256 when it ran, and the torch version. */
export interface FixtureGenerator {
  script: string;
  sha256: string;
  torch: string;
}

/** Reads `<directory>/__fixtures__/<name>.json`, relative to the repository root. */
export function readFixture<T>(directory: string, name: string): T & { generator: FixtureGenerator } {
  const path = join(repositoryRoot, directory, "__fixtures__", `${name}.json`);
  return JSON.parse(readFileSync(path, "utf8")) as T & { generator: FixtureGenerator };
}

/** SHA-256 (hex) of a file relative to the repository root. */
export function fileSha256(relativePath: string): string {
  return createHash("sha256")
    .update(readFileSync(join(repositoryRoot, relativePath)))
    .digest("hex");
}

/** Decodes base64 little-endian float32 (as the fixture script writes large arrays). */
export function decodeFloat32(base64: string): Float32Array {
  const bytes = Buffer.from(base64, "base64");
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return new Float32Array(copy.buffer);
}

/**
 * Uniform values in [-1, 1) from an integer hash of (seed, index): the same numbers as
 * `hash_uniform` in scripts/make-torch-fixtures.py, bit for bit.
 */
export function hashUniform(count: number, seed: number): Float64Array {
  const values = new Float64Array(count);
  const offset = Math.imul(seed, 0x9e3779b1);
  for (let index = 0; index < count; index++) {
    let x = (index + offset) >>> 0;
    x = (x ^ (x >>> 16)) >>> 0;
    x = Math.imul(x, 0x7feb352d) >>> 0;
    x = (x ^ (x >>> 15)) >>> 0;
    x = Math.imul(x, 0x846ca68b) >>> 0;
    x = (x ^ (x >>> 16)) >>> 0;
    values[index] = (x / 4294967296) * 2 - 1;
  }
  return values;
}

/**
 * Largest |actual - expected| divided by the largest |expected| (or 1 if that is smaller): an error
 * relative to the array's scale, so tiny entries of a large gradient do not dominate.
 */
export function scaledMaxError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) {
    return Number.POSITIVE_INFINITY;
  }
  let scale = 1e-30;
  let worst = 0;
  for (let index = 0; index < expected.length; index++) {
    scale = Math.max(scale, Math.abs(expected[index] as number));
    const difference = Math.abs((actual[index] as number) - (expected[index] as number));
    worst = Number.isNaN(difference) ? Number.POSITIVE_INFINITY : Math.max(worst, difference);
  }
  return worst / Math.max(scale, 1e-3);
}
