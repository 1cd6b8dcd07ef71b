import { afterEach, describe, expect, it } from "vitest";
import { ProviderError } from "../spec/errors.js";
import { type FakeLlmServer, startFakeLlmServer } from "../test-kit/fake-llm-server.js";
import { createOpenAICompatibleEmbedding } from "./openai-compatible-embedding.js";

let server: FakeLlmServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe("createOpenAICompatibleEmbedding", () => {
  it("embeds in batches of batchSize and returns vectors in input order", async () => {
    server = await startFakeLlmServer({ embeddingDimensions: 6 });
    const embedder = createOpenAICompatibleEmbedding({ baseURL: server.url, model: "embed", batchSize: 2 });
    const texts = ["a", "b", "c", "d", "e"];
    const vectors = await embedder.embed(texts);
    expect(vectors).toHaveLength(5);
    expect(vectors.every((vector) => vector instanceof Float32Array && vector.length === 6)).toBe(true);
    expect(server.requests.map((request) => (request.body as { input: string[] }).input)).toEqual([
      ["a", "b"],
      ["c", "d"],
      ["e"],
    ]);
    const [single] = await embedder.embed(["d"]);
    expect(Array.from(single ?? [])).toEqual(Array.from(vectors[3] ?? []));
    expect(embedder.defaultDistanceThreshold).toBe(0.3);
    expect(embedder.modelId).toBe("embed");
  });

  it("sends no request for no texts", async () => {
    server = await startFakeLlmServer();
    const embedder = createOpenAICompatibleEmbedding({ baseURL: server.url, model: "embed" });
    expect(await embedder.embed([])).toEqual([]);
    expect(server.requests).toHaveLength(0);
  });

  it("reports a malformed answer with context", async () => {
    server = await startFakeLlmServer();
    server.injectFaults([{ type: "malformed", body: '{"data":"nope"}' }]);
    const embedder = createOpenAICompatibleEmbedding({ baseURL: server.url, model: "embed", apiKey: "sk-secret-key" });
    const error = await embedder.embed(["x"]).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).code).toBe("PROVIDER_BAD_RESPONSE");
    expect((error as ProviderError).message).toContain(`${server.url}/v1/embeddings answered HTTP 200`);
    expect((error as ProviderError).message).toContain("no data array");
  });
});
