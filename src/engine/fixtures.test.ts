import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fileSha256, readFixture, repositoryRoot } from "./testing/fixtures.js";

const script = "scripts/make-torch-fixtures.py";
const directories = ["src/engine", "src/model/llama"];

describe("PyTorch fixtures", () => {
  const fixtures = directories.flatMap((directory) =>
    readdirSync(join(repositoryRoot, directory, "__fixtures__"))
      .filter((file) => file.endsWith(".json"))
      .map((file) => ({ directory, name: file.slice(0, -".json".length) })),
  );

  it("cover every op and the tiny models (llama, qwen2 with q/k/v biases, and LoRA on qwen2)", () => {
    expect(fixtures.map((fixture) => fixture.name).sort()).toEqual(
      [
        "adamw",
        "causal-attention",
        "clip-gradient-norm",
        "embedding",
        "log-softmax-gather",
        "masked-cross-entropy",
        "matmul",
        "residual-add",
        "rms-norm",
        "rotary-embedding",
        "swiglu",
        "tiny-llama",
        "tiny-qwen2",
        "tiny-qwen2-lora",
      ].sort(),
    );
  });

  it.each(fixtures)("$name was written by the current fixture script, with PyTorch", ({ directory, name }) => {
    const { generator } = readFixture<object>(directory, name);
    expect(generator.script).toBe(script);
    expect(generator.sha256, `regenerate: /usr/bin/python3 ${script}`).toBe(fileSha256(script));
    expect(generator.torch).toMatch(/^\d+\.\d+/);
  });
});
