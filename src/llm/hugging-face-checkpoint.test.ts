import { cp, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { randomWeights, testTokenizer, tinyConfig } from "../model/__fixtures__/tiny-models.js";
import { loadCheckpoint, saveCheckpoint } from "../model/checkpoint.js";
import { saveTokenizer } from "../model/tokenizer/tokenizer.js";
import { ConfigError, ModelSpecError, ProviderError } from "../spec/errors.js";
import { type FakeHuggingFaceHub, startFakeHuggingFaceHub } from "../test-kit/fake-hugging-face-hub.js";
import { findCachedHuggingFaceCheckpoint, resolveHuggingFaceCheckpoint } from "./hugging-face-checkpoint.js";

let root: string;
let hub: FakeHuggingFaceHub;
let gatedHub: FakeHuggingFaceHub;
let cacheDirectory: string;

/** A tiny Qwen2 checkpoint with its tokenizer, sharded when `maximumShardBytes` is small. */
async function writeRepository(name: string, maximumShardBytes?: number): Promise<string> {
  const directory = join(root, name);
  const tokenizer = testTokenizer();
  const config = tinyConfig({
    family: "qwen2",
    queryKeyValueBias: true,
    tieWordEmbeddings: true,
    vocabularySize: tokenizer.vocabularySize,
  });
  await saveCheckpoint({
    directory,
    config,
    weights: randomWeights({ config }),
    ...(maximumShardBytes ? { maximumShardBytes } : {}),
  });
  await saveTokenizer({
    directory,
    tokenizerJson: tokenizer.tokenizerJson,
    tokenizerConfig: tokenizer.tokenizerConfig,
  });
  return directory;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "hf-checkpoint-"));
  const sharded = await writeRepository("sharded", 60_000);
  const single = await writeRepository("single");
  const unsupported = join(root, "unsupported");
  await cp(single, unsupported, { recursive: true });
  await writeFile(join(unsupported, "config.json"), JSON.stringify({ model_type: "gemma", hidden_size: 64 }));
  const noTokenizer = join(root, "no-tokenizer");
  await cp(single, noTokenizer, { recursive: true });
  await rm(join(noTokenizer, "tokenizer.json"));
  const errorPage = join(root, "error-page");
  await cp(single, errorPage, { recursive: true });
  await writeFile(join(errorPage, "model.safetensors"), "<!doctype html><title>Sign in</title>");
  hub = await startFakeHuggingFaceHub({
    repositories: {
      "owner/sharded@main": sharded,
      "owner/single@v1.0": single,
      "owner/unsupported@main": unsupported,
      "owner/no-tokenizer@main": noTokenizer,
      "owner/error-page@main": errorPage,
    },
  });
  gatedHub = await startFakeHuggingFaceHub({ repositories: { "owner/gated@main": single }, requiredToken: "t0ken" });
});
afterAll(async () => {
  await hub.close();
  await gatedHub.close();
  await rm(root, { recursive: true, force: true });
});
beforeEach(async () => {
  hub.requests.length = 0;
  cacheDirectory = await mkdtemp(join(root, "cache-"));
});

describe("resolveHuggingFaceCheckpoint", () => {
  it("downloads a sharded checkpoint once (config, index, every shard, tokenizer); the second use asks nothing", async () => {
    const progress: string[] = [];
    const directory = await resolveHuggingFaceCheckpoint({
      owner: "owner",
      repository: "sharded",
      cacheDirectory,
      endpoint: hub.url,
      onProgress: ({ file }) => progress.push(file),
    });
    expect(directory).toBe(join(cacheDirectory, "checkpoints", "owner", "sharded", "main"));
    const files = (await readdir(directory)).sort();
    const shards = files.filter((file) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(file));
    expect(shards.length).toBeGreaterThan(1);
    expect(files).toEqual(
      [
        "config.json",
        "generation_config.json",
        "model.safetensors.index.json",
        "tokenizer.json",
        "tokenizer_config.json",
        ...shards,
      ].sort(),
    );
    const checkpoint = await loadCheckpoint({ directory });
    expect(checkpoint.config).toMatchObject({ family: "qwen2", queryKeyValueBias: true });
    expect(checkpoint.weights.has("model.layers.1.self_attn.k_proj.bias")).toBe(true);
    expect(progress).toContain("hf:owner/sharded config.json");
    // No token given: none sent. Absent optional files were asked once and answered 404.
    expect(hub.requests.every((request) => request.authorization === undefined)).toBe(true);
    expect(hub.requests.filter((request) => request.status === 404).map((request) => request.path)).toEqual([
      "/owner/sharded/resolve/main/special_tokens_map.json",
      "/owner/sharded/resolve/main/chat_template.jinja",
    ]);
    const asked = hub.requests.length;
    expect(
      await resolveHuggingFaceCheckpoint({ owner: "owner", repository: "sharded", cacheDirectory, endpoint: hub.url }),
    ).toBe(directory);
    expect(hub.requests).toHaveLength(asked);
    expect(findCachedHuggingFaceCheckpoint({ owner: "owner", repository: "sharded", cacheDirectory })).toBe(directory);
  });

  it("downloads a single-file checkpoint at a revision into its own cache folder", async () => {
    const directory = await resolveHuggingFaceCheckpoint({
      owner: "owner",
      repository: "single",
      revision: "v1.0",
      cacheDirectory,
      endpoint: hub.url,
    });
    expect(directory).toBe(join(cacheDirectory, "checkpoints", "owner", "single", "v1.0"));
    expect(hub.requests.some((request) => request.path === "/owner/single/resolve/v1.0/model.safetensors")).toBe(true);
    expect((await loadCheckpoint({ directory })).config.family).toBe("qwen2");
    // The main branch was never downloaded.
    expect(findCachedHuggingFaceCheckpoint({ owner: "owner", repository: "single", cacheDirectory })).toBeUndefined();
  });

  it("refuses an unsupported architecture from config.json alone, before asking for weights, caching nothing", async () => {
    const call = resolveHuggingFaceCheckpoint({
      owner: "owner",
      repository: "unsupported",
      cacheDirectory,
      endpoint: hub.url,
    });
    await expect(call).rejects.toBeInstanceOf(ConfigError);
    await expect(call).rejects.toThrow(/^hf:owner\/unsupported config\.json: model_type: "gemma" is not supported/);
    expect(hub.requests.some((request) => request.path.endsWith(".safetensors"))).toBe(false);
    expect(await readdir(join(cacheDirectory, "checkpoints", "owner"))).toEqual([]);
  });

  it("names a missing repository, a missing tokenizer.json and a download that is not safetensors; caches none", async () => {
    await expect(
      resolveHuggingFaceCheckpoint({ owner: "owner", repository: "absent", cacheDirectory, endpoint: hub.url }),
    ).rejects.toThrow(
      `hf:owner/absent has no config.json on ${hub.url} (404); check the owner, repository and revision`,
    );
    const noTokenizer = resolveHuggingFaceCheckpoint({
      owner: "owner",
      repository: "no-tokenizer",
      cacheDirectory,
      endpoint: hub.url,
    });
    await expect(noTokenizer).rejects.toBeInstanceOf(ModelSpecError);
    await expect(noTokenizer).rejects.toThrow(/has no tokenizer\.json .*only Hugging Face fast-tokenizer files/);
    await expect(
      resolveHuggingFaceCheckpoint({ owner: "owner", repository: "error-page", cacheDirectory, endpoint: hub.url }),
    ).rejects.toThrow(/^hf:owner\/error-page model\.safetensors is not a safetensors file/);
    expect(await readdir(join(cacheDirectory, "checkpoints", "owner"))).toEqual([]);
  });

  it("sends the access token it is given, and reports a gated repository without one", async () => {
    const call = resolveHuggingFaceCheckpoint({
      owner: "owner",
      repository: "gated",
      cacheDirectory,
      endpoint: gatedHub.url,
    });
    await expect(call).rejects.toBeInstanceOf(ProviderError);
    await expect(call).rejects.toThrow(/needs access \(401\)/);
    const directory = await resolveHuggingFaceCheckpoint({
      owner: "owner",
      repository: "gated",
      cacheDirectory,
      endpoint: gatedHub.url,
      accessToken: "t0ken",
    });
    expect((await loadCheckpoint({ directory })).config.family).toBe("qwen2");
  });

  it("refuses names that would leave the cache folder, without a request", async () => {
    await expect(
      resolveHuggingFaceCheckpoint({ owner: "..", repository: "x", cacheDirectory, endpoint: hub.url }),
    ).rejects.toBeInstanceOf(ModelSpecError);
    await expect(
      resolveHuggingFaceCheckpoint({
        owner: "a",
        repository: "b",
        revision: "../../x",
        cacheDirectory,
        endpoint: hub.url,
      }),
    ).rejects.toThrow(/revision "..\/..\/x" is not a branch, tag or commit/);
    expect(hub.requests).toEqual([]);
  });
});
