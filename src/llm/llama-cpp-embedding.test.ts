import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmbeddingModel } from "../spec/embedding-model.js";
import { CancelledError, ModelSpecError } from "../spec/errors.js";
import { writeTinyByteModel } from "../test-kit/tiny-gguf-model.js";
import { createLlamaCppEmbedding, LLAMA_CPP_DEFAULT_DISTANCE_THRESHOLD } from "./llama-cpp-embedding.js";

let directory: string;
let embedder: EmbeddingModel & { close(): Promise<void> };

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "llama-cpp-embedding-"));
  const modelPath = await writeTinyByteModel({ path: join(directory, "tiny.gguf") });
  embedder = await createLlamaCppEmbedding({ modelPath, threads: 1, gpu: false, contextSize: 256 });
});

afterAll(async () => {
  await embedder?.close();
  await rm(directory, { recursive: true, force: true });
});

const dot = (a: Float32Array, b: Float32Array) => a.reduce((sum, value, index) => sum + value * (b[index] ?? 0), 0);

describe("createLlamaCppEmbedding", () => {
  it("returns one unit vector per text, in order, of the model's embedding width", async () => {
    const [hello, abc, helloAgain] = await embedder.embed(["hello", "abc", "hello"]);
    if (!hello || !abc || !helloAgain) throw new Error("missing vectors");
    expect(hello.length).toBe(256);
    expect(dot(hello, hello)).toBeCloseTo(1, 5);
    expect(Array.from(helloAgain)).toEqual(Array.from(hello));
    // The tiny model's hidden state is the last byte's one-hot vector: different last bytes are orthogonal.
    expect(dot(hello, abc)).toBeCloseTo(0, 5);
    expect(1 - dot(hello, abc)).toBeGreaterThan(embedder.defaultDistanceThreshold);
  });

  it("reports the documented default distance threshold", () => {
    expect(embedder.defaultDistanceThreshold).toBe(LLAMA_CPP_DEFAULT_DISTANCE_THRESHOLD);
  });

  it("embeds an empty text and a text longer than the context without failing", async () => {
    const vectors = await embedder.embed(["", "x".repeat(1000)]);
    expect(vectors.map((vector) => vector.length)).toEqual([256, 256]);
  });

  it("stops on an aborted signal", async () => {
    await expect(embedder.embed(["a"], { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(CancelledError);
  });

  it("names a file that is not GGUF", async () => {
    const notGguf = join(directory, "vectors.txt");
    await writeFile(notGguf, "hello");
    await expect(createLlamaCppEmbedding({ modelPath: notGguf, threads: 1, gpu: false })).rejects.toBeInstanceOf(
      ModelSpecError,
    );
  });
});
