import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBlas } from "../engine/index.js";
import { InputError } from "../spec/errors.js";
import { loadCheckpoint, saveCheckpoint } from "./checkpoint.js";
import { checkpointTensorSpecs } from "./checkpoint-tensors.js";
import { createInferenceDecoder } from "./generation/inference-decoder.js";
import { createLlamaModel } from "./llama/index.js";
import { copyWeightsIntoModel } from "./llama-weights.js";
import { openSafetensorsCheckpoint } from "./safetensors/safetensors-reader.js";
import { type SafetensorsTensor, writeSafetensorsFile } from "./safetensors/safetensors-writer.js";

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, "__fixtures__", "checkpoints");
const checkerScript = join(here, "..", "..", "scripts", "make-checkpoint-fixtures.py");
const python = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
const run = promisify(execFile);
const blas = createBlas({ backend: "typescript" });

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "checkpoint-"));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

async function reference(name: string): Promise<{ tokens: number[]; logits: number[][] }> {
  return JSON.parse(await readFile(join(fixtures, name, "reference.json"), "utf8"));
}

function worstDifference(ours: Float32Array, theirs: number[][]): number {
  const flat = theirs.flat();
  expect(ours.length).toBe(flat.length);
  return flat.reduce((worst, value, index) => Math.max(worst, Math.abs((ours[index] as number) - value)), 0);
}

async function independentCheck(
  checkpointDirectory: string,
  expected: unknown,
): Promise<{ code: number; output: string }> {
  const expectedPath = join(checkpointDirectory, "..", `${checkpointDirectory.split("/").at(-1)}-expected.json`);
  await writeFile(expectedPath, JSON.stringify(expected));
  try {
    const { stdout } = await run(python, [checkerScript, "--check", checkpointDirectory, expectedPath]);
    return { code: 0, output: stdout };
  } catch (error) {
    const failure = error as { code: number; stdout: string };
    return { code: failure.code, output: failure.stdout };
  }
}

describe("Hugging Face checkpoints written by the PyTorch fixture script", () => {
  it("loads a sharded Llama checkpoint with BF16, F16 and F32 tensors and reproduces its logits", async () => {
    const checkpoint = await loadCheckpoint({ directory: join(fixtures, "tiny-llama-sharded") });
    expect(checkpoint.config).toMatchObject({ family: "llama", layers: 2, tieWordEmbeddings: false, eosTokenIds: [2] });
    expect(checkpoint.storedDtype).toBe("mixed");
    const { tokens, logits } = await reference("tiny-llama-sharded");
    const decoder = createInferenceDecoder({ config: checkpoint.config, weights: checkpoint.weights, blas });
    expect(worstDifference(decoder.createSession().append(tokens, { allLogits: true }), logits)).toBeLessThan(1e-4);
    const training = createLlamaModel({ config: checkpoint.config, blas });
    copyWeightsIntoModel({ model: training, weights: checkpoint.weights });
    const trainingLogits = training.forward({
      tokens: Int32Array.from(tokens),
      batchSize: 1,
      sequenceLength: tokens.length,
    });
    expect(worstDifference(trainingLogits.data, logits)).toBeLessThan(1e-4);
  });

  it("loads a single-file F16 Qwen2 checkpoint (q/k/v biases, tied embeddings) and reproduces its logits", async () => {
    const checkpoint = await loadCheckpoint({ directory: join(fixtures, "tiny-qwen2") });
    expect(checkpoint.config).toMatchObject({ family: "qwen2", queryKeyValueBias: true, tieWordEmbeddings: true });
    expect(checkpoint.storedDtype).toBe("F16");
    const { tokens, logits } = await reference("tiny-qwen2");
    const decoder = createInferenceDecoder({ config: checkpoint.config, weights: checkpoint.weights, blas });
    const inference = decoder.createSession().append(tokens, { allLogits: true });
    expect(worstDifference(inference, logits)).toBeLessThan(1e-4);
    // The training decoder holds the biases too: it gives PyTorch's logits and the inference decoder's.
    const training = createLlamaModel({ config: checkpoint.config, blas });
    expect(training.layout.filter((entry) => entry.kind === "bias")).toHaveLength(6);
    copyWeightsIntoModel({ model: training, weights: checkpoint.weights });
    const trainingLogits = training.forward({
      tokens: Int32Array.from(tokens),
      batchSize: 1,
      sequenceLength: tokens.length,
    });
    expect(worstDifference(trainingLogits.data, logits)).toBeLessThan(1e-4);
    let worst = 0;
    inference.forEach((value, index) => {
      worst = Math.max(worst, Math.abs(value - (trainingLogits.data[index] as number)));
    });
    expect(worst).toBeLessThan(1e-5);
  });
});

describe("saving checkpoints", () => {
  it("round-trips bit for bit: BF16 tensors saved as BF16 keep their bytes, F32 saves reload identically", async () => {
    const source = join(fixtures, "tiny-llama-sharded");
    const loaded = await loadCheckpoint({ directory: source });
    const original = await openSafetensorsCheckpoint({ path: source });
    const bf16 = join(directory, "bf16");
    const files = await saveCheckpoint({ ...loaded, directory: bf16, dtype: "BF16", maximumShardBytes: 16_000 });
    expect(files).toContain("model.safetensors.index.json");
    const saved = await openSafetensorsCheckpoint({ path: bf16 });
    expect(saved.files.length).toBeGreaterThan(1);
    for (const [name, info] of original.tensors) {
      if (info.dtype !== "BF16") continue;
      expect(Buffer.compare(await saved.readBytes(name), await original.readBytes(name)), name).toBe(0);
    }
    const f32 = join(directory, "f32");
    await saveCheckpoint({ ...loaded, directory: f32 });
    const reloaded = await loadCheckpoint({ directory: f32 });
    expect(reloaded.config).toEqual(loaded.config);
    for (const [name, values] of loaded.weights) {
      expect(
        Buffer.from((reloaded.weights.get(name) as Float32Array).buffer).equals(Buffer.from(values.buffer)),
        name,
      ).toBe(true);
    }
  });

  it("is read back by the fixture script's independent reader: header, names, dtypes, shapes, index", async () => {
    const loaded = await loadCheckpoint({ directory: join(fixtures, "tiny-qwen2") });
    const expectedTensors = (dtype: string) =>
      Object.fromEntries(checkpointTensorSpecs(loaded.config).map((spec) => [spec.name, { dtype, shape: spec.shape }]));
    const single = join(directory, "qwen2-f32");
    await saveCheckpoint({ ...loaded, directory: single });
    const singleCheck = await independentCheck(single, { tensors: expectedTensors("F32") });
    expect(singleCheck.output).toMatch(/checked 26 tensors in 1 files: 0 problems/);
    expect(singleCheck.code).toBe(0);

    const sharded = join(directory, "qwen2-bf16-sharded");
    await saveCheckpoint({ ...loaded, directory: sharded, dtype: "BF16", maximumShardBytes: 8_000 });
    const shardedCheck = await independentCheck(sharded, { tensors: expectedTensors("BF16") });
    expect(shardedCheck.output).toMatch(/checked 26 tensors in \d+ files: 0 problems/);
    expect(shardedCheck.code).toBe(0);

    // The reader does catch a wrong expectation (so the passes above mean something).
    const wrong = expectedTensors("F32");
    (wrong["model.norm.weight"] as { shape: number[] }).shape = [31];
    const failing = await independentCheck(single, { tensors: wrong });
    expect(failing.code).toBe(1);
    expect(failing.output).toContain("model.norm.weight is F32 [32], expected F32 [31]");
  });
});

describe("refusing checkpoints that do not match their config", () => {
  async function copyWithExtraTensors(name: string, extra: (embedding: Float32Array) => SafetensorsTensor[]) {
    const copy = join(directory, name);
    await cp(join(fixtures, "tiny-qwen2"), copy, { recursive: true });
    const original = await openSafetensorsCheckpoint({ path: copy });
    const tensors: SafetensorsTensor[] = [];
    for (const [tensor, info] of original.tensors) {
      tensors.push({ name: tensor, shape: info.shape, data: await original.readFloat32(tensor) });
    }
    const embedding = await original.readFloat32("model.embed_tokens.weight");
    await writeSafetensorsFile({ path: join(copy, "model.safetensors"), tensors: [...tensors, ...extra(embedding)] });
    return copy;
  }

  it("refuses an unknown tensor in one line naming it; skips derived rotary frequencies", async () => {
    const unknown = await copyWithExtraTensors("unknown-tensor", () => [
      { name: "model.layers.0.self_attn.o_proj.bias", shape: [32], data: new Float32Array(32) },
    ]);
    const failure = (await loadCheckpoint({ directory: unknown }).catch((error: unknown) => error)) as InputError;
    expect(failure).toBeInstanceOf(InputError);
    expect(failure.message).toBe(
      `${unknown}: checkpoint has tensors a qwen2 model with this config does not use: model.layers.0.self_attn.o_proj.bias`,
    );
    const derived = await copyWithExtraTensors("derived-tensor", () => [
      { name: "model.layers.1.self_attn.rotary_emb.inv_freq", shape: [4], data: new Float32Array(4).fill(1) },
    ]);
    expect(
      (await loadCheckpoint({ directory: derived })).weights.has("model.layers.1.self_attn.rotary_emb.inv_freq"),
    ).toBe(false);
  });

  it("accepts a tied model's stored lm_head.weight only when it equals the embeddings", async () => {
    const equal = await copyWithExtraTensors("tied-equal", (embedding) => [
      { name: "lm_head.weight", shape: [64, 32], data: embedding },
    ]);
    expect((await loadCheckpoint({ directory: equal })).config.tieWordEmbeddings).toBe(true);
    const different = await copyWithExtraTensors("tied-different", (embedding) => {
      const head = embedding.slice();
      head[70] = (head[70] as number) + 0.5;
      return [{ name: "lm_head.weight", shape: [64, 32], data: head }];
    });
    await expect(loadCheckpoint({ directory: different })).rejects.toThrow(
      `${different}: lm_head.weight differs from model.embed_tokens.weight (first at element 70) but tie_word_embeddings is true; refusing to drop the stored head`,
    );
  });

  it("refuses an architecture it does not implement, in one line naming the field", async () => {
    const copy = join(directory, "moe");
    await cp(join(fixtures, "tiny-qwen2"), copy, { recursive: true });
    const config = JSON.parse(await readFile(join(copy, "config.json"), "utf8"));
    await writeFile(
      join(copy, "config.json"),
      JSON.stringify({ ...config, model_type: "qwen2_moe", architectures: ["Qwen2MoeForCausalLM"] }),
    );
    const failure = (await loadCheckpoint({ directory: copy }).catch((error: unknown) => error)) as Error;
    expect(failure.message).toMatch(
      /config\.json: model_type: "qwen2_moe" is not supported; supported: llama, mistral, qwen2$/,
    );
    expect(failure.message).not.toContain("\n");
  });

  it("copies into the training decoder only what its layout places (no silent drop)", async () => {
    const checkpoint = await loadCheckpoint({ directory: join(fixtures, "tiny-qwen2") });
    // Qwen2 weights into a decoder built without biases: the biases would be dropped, so refused.
    const withoutBias = createLlamaModel({ config: { ...checkpoint.config, queryKeyValueBias: false }, blas });
    expect(() =>
      copyWeightsIntoModel({ model: withoutBias, weights: checkpoint.weights, source: "qwen2-dir" }),
    ).toThrow(
      "qwen2-dir: checkpoint tensor model.layers.0.self_attn.q_proj.bias has no place in the training decoder (without q/k/v biases, tied head); refusing to drop it",
    );
    expect(withoutBias.parameter("model.norm.weight").data.every((value) => value === 1)).toBe(true);
    const model = createLlamaModel({ config: checkpoint.config, blas });
    const embedding = checkpoint.weights.get("model.embed_tokens.weight") as Float32Array;
    const weights = new Map(checkpoint.weights);
    weights.set("model.rotary_emb.inv_freq", new Float32Array(4));
    weights.set("lm_head.weight", embedding.slice());
    copyWeightsIntoModel({ model, weights });
    expect(model.parameter("model.layers.1.self_attn.v_proj.bias").data).toEqual(
      checkpoint.weights.get("model.layers.1.self_attn.v_proj.bias"),
    );
    const head = embedding.slice();
    head[3] = 9;
    weights.set("lm_head.weight", head);
    expect(() => copyWeightsIntoModel({ model, weights })).toThrow(/lm_head.weight differs .* \(first at element 3\)/);
  });

  it("names a missing tensor, a wrong shape and an unused tensor", async () => {
    const copy = join(directory, "broken");
    await cp(join(fixtures, "tiny-qwen2"), copy, { recursive: true });
    const config = JSON.parse(await readFile(join(copy, "config.json"), "utf8"));
    await writeFile(join(copy, "config.json"), JSON.stringify({ ...config, intermediate_size: 40 }));
    await expect(loadCheckpoint({ directory: copy })).rejects.toThrow(
      /mlp.gate_proj.weight has shape \[48, 32\] but config.json implies \[40, 32\]/,
    );
    await writeFile(join(copy, "config.json"), JSON.stringify({ ...config, num_hidden_layers: 3 }));
    await expect(loadCheckpoint({ directory: copy })).rejects.toThrow(
      /lacks tensor model.layers.2.input_layernorm.weight/,
    );
    await writeFile(join(copy, "config.json"), JSON.stringify({ ...config, num_hidden_layers: 1 }));
    const failure = await loadCheckpoint({ directory: copy }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(InputError);
    expect((failure as Error).message).toMatch(/does not use: model.layers.1\./);
  });
});
