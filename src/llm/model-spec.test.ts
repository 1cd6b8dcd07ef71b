import { describe, expect, it } from "vitest";
import { parseEmbeddingSpec, parseModelSpec } from "./model-spec.js";

describe("parseModelSpec", () => {
  it("parses every provider form", () => {
    expect(parseModelSpec("openai:gpt-4o-mini")).toEqual({
      provider: "openai",
      model: "gpt-4o-mini",
      baseURLs: undefined,
      api: "chat",
      spec: "openai:gpt-4o-mini",
    });
    expect(parseModelSpec("openai:llama3@http://127.0.0.1:8000/v1/,http://127.0.0.1:8001/v1")).toMatchObject({
      provider: "openai",
      model: "llama3",
      baseURLs: ["http://127.0.0.1:8000/v1", "http://127.0.0.1:8001/v1"],
    });
    expect(parseModelSpec("gguf:./models/m.gguf")).toMatchObject({ provider: "gguf", path: "./models/m.gguf" });
    expect(parseModelSpec("hf:bartowski/SmolLM2-GGUF/SmolLM2-Q4_K_M.gguf")).toMatchObject({
      provider: "hf",
      owner: "bartowski",
      repository: "SmolLM2-GGUF",
      file: "SmolLM2-Q4_K_M.gguf",
    });
    expect(parseModelSpec("local:./checkpoints/run1")).toMatchObject({
      provider: "local",
      directory: "./checkpoints/run1",
    });
  });

  it("parses completion models: openai-completion:<model>[@url] goes through /v1/completions", () => {
    expect(parseModelSpec("openai-completion:base@http://127.0.0.1:8000/v1/")).toEqual({
      provider: "openai",
      model: "base",
      baseURLs: ["http://127.0.0.1:8000/v1"],
      api: "completion",
      spec: "openai-completion:base@http://127.0.0.1:8000/v1/",
    });
    expect(parseModelSpec("openai-completion:gpt-3.5-turbo-instruct")).toMatchObject({
      api: "completion",
      baseURLs: undefined,
    });
    expect(() => parseModelSpec("openai-completion:")).toThrow(/names no model/);
    expect(() => parseModelSpec("openai-completion:m@ftp://host")).toThrow(/http:\/\/ or https:\/\//);
    expect(() => parseEmbeddingSpec("openai-completion:m@http://127.0.0.1:8000/v1")).toThrow(/not supported/);
  });

  it("names the problem and the accepted forms for bad specs", () => {
    expect(() => parseModelSpec("gpt-4o")).toThrow(/no provider prefix.*openai:gpt-4o-mini/);
    expect(() => parseModelSpec("anthropic:claude")).toThrow(/unknown model provider "anthropic"/);
    expect(() => parseModelSpec("openai:")).toThrow(/names no model/);
    expect(() => parseModelSpec("openai:m@not a url")).toThrow(/is not a URL/);
    expect(() => parseModelSpec("openai:m@ftp://host")).toThrow(/http:\/\/ or https:\/\//);
    expect(() => parseModelSpec("openai:m@http://user:secret@host/v1")).toThrow(/credentials/);
    expect(() => parseModelSpec("hf:owner")).toThrow(
      /hf:<owner>\/<repo>\/<file>\.gguf .* or hf:<owner>\/<repo>\[@revision\]/,
    );
    expect(() => parseModelSpec("hf:owner/repo/model.bin")).toThrow(/\.gguf file/);
  });

  it("reads hf:<owner>/<repo>[@revision] (and local:hf:...) as a checkpoint, hf:<owner>/<repo>/<file>.gguf as a GGUF file", () => {
    expect(parseModelSpec("hf:Qwen/Qwen2.5-0.5B-Instruct")).toEqual({
      provider: "hf-checkpoint",
      uri: "hf:Qwen/Qwen2.5-0.5B-Instruct",
      owner: "Qwen",
      repository: "Qwen2.5-0.5B-Instruct",
      revision: undefined,
      spec: "hf:Qwen/Qwen2.5-0.5B-Instruct",
    });
    expect(parseModelSpec("local:hf:HuggingFaceTB/SmolLM2-135M@refs/pr/3")).toMatchObject({
      provider: "hf-checkpoint",
      uri: "hf:HuggingFaceTB/SmolLM2-135M@refs/pr/3",
      revision: "refs/pr/3",
      spec: "local:hf:HuggingFaceTB/SmolLM2-135M@refs/pr/3",
    });
    expect(() => parseModelSpec("hf:owner/repo@")).toThrow(/names no revision after "@"/);
    expect(() => parseModelSpec("hf:owner/repo/file.gguf@v1")).toThrow(/a revision \(@\) applies to checkpoints/);
    expect(() => parseModelSpec("hf:owner/repo@../../etc")).toThrow(/is not a branch, tag or commit/);
    expect(() => parseModelSpec("hf:../repo")).toThrow(/owner "\.\." is not a Hugging Face name/);
    expect(() => parseModelSpec("local:hf:owner/repo/file.gguf")).toThrow(
      /local: takes a checkpoint .*; run a GGUF file as hf:owner\/repo\/file\.gguf/,
    );
  });

  it("has a stable error code", () => {
    try {
      parseModelSpec("nope");
      expect.unreachable();
    } catch (error) {
      expect((error as { code: string }).code).toBe("MODEL_SPEC_INVALID");
    }
  });
});

describe("parseEmbeddingSpec", () => {
  it("accepts lexical, openai and gguf only", () => {
    expect(parseEmbeddingSpec("lexical")).toEqual({ provider: "lexical", spec: "lexical" });
    expect(parseEmbeddingSpec("openai:text-embedding-3-small")).toMatchObject({ provider: "openai" });
    expect(parseEmbeddingSpec("gguf:e.gguf")).toMatchObject({ provider: "gguf", path: "e.gguf" });
    expect(() => parseEmbeddingSpec("local:dir")).toThrow(/not supported/);
  });
});
