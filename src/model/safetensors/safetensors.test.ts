import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InputError } from "../../spec/errors.js";
import { bfloat16BitsToFloat32, float16BitsToFloat32, float32ToBfloat16Bits } from "../half-precision.js";
import { openSafetensorsCheckpoint, readSafetensorsHeader } from "./safetensors-reader.js";
import { type SafetensorsTensor, writeSafetensorsCheckpoint, writeSafetensorsFile } from "./safetensors-writer.js";

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "safetensors-"));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

function awkwardFloats(length: number, seed: number): Float32Array {
  const values = new Float32Array(length);
  let state = seed;
  for (let index = 0; index < length; index++) {
    state = (state * 1103515245 + 12345) >>> 0;
    values[index] = ((state / 2 ** 32) * 2 - 1) * 10 ** ((index % 9) - 4);
  }
  values.set([0, -0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e-40, -3.4e38].slice(0, length), 0);
  return values;
}

describe("safetensors round trip", () => {
  it("reads back f32 tensors bit for bit, including -0, infinities, subnormals and a NaN payload", async () => {
    const data = awkwardFloats(60, 1);
    new Uint32Array(data.buffer)[7] = 0x7fa00001; // a signalling NaN with a payload
    const path = join(directory, "bits.safetensors");
    await writeSafetensorsFile({ path, tensors: [{ name: "w", shape: [6, 10], data }] });
    const checkpoint = await openSafetensorsCheckpoint({ path });
    const back = await checkpoint.readFloat32("w");
    expect(Array.from(new Uint32Array(back.buffer))).toEqual(Array.from(new Uint32Array(data.buffer)));
    expect(checkpoint.metadata).toEqual({ format: "pt" });
  });

  it("writes the same bytes again after a read (file-level bit-exact round trip, f32 and bf16)", async () => {
    const tensors: SafetensorsTensor[] = [
      { name: "model.embed_tokens.weight", shape: [8, 4], data: awkwardFloats(32, 2) },
      { name: "model.norm.weight", shape: [4], data: awkwardFloats(4, 3), dtype: "BF16" },
    ];
    const first = join(directory, "first.safetensors");
    await writeSafetensorsFile({ path: first, tensors });
    const checkpoint = await openSafetensorsCheckpoint({ path: first });
    const second = join(directory, "second.safetensors");
    await writeSafetensorsFile({
      path: second,
      tensors: await Promise.all(
        tensors.map(async (tensor) => ({
          ...tensor,
          data: await checkpoint.readFloat32(tensor.name),
        })),
      ),
    });
    expect(Buffer.compare(await readFile(first), await readFile(second))).toBe(0);
  });

  it("lays out the header as Hugging Face does: 8-byte length, space padding to 8 bytes, offsets from the data start", async () => {
    const path = join(directory, "layout.safetensors");
    await writeSafetensorsFile({
      path,
      tensors: [
        { name: "a", shape: [3], data: Float32Array.from([1, 2, 3]) },
        { name: "b", shape: [2, 1], data: Float32Array.from([0.5, -2]), dtype: "F16" },
      ],
    });
    const bytes = await readFile(path);
    const length = Number(bytes.readBigUInt64LE(0));
    expect(length % 8).toBe(0);
    const header = JSON.parse(bytes.subarray(8, 8 + length).toString("utf8"));
    expect(header).toEqual({
      __metadata__: { format: "pt" },
      a: { dtype: "F32", shape: [3], data_offsets: [0, 12] },
      b: { dtype: "F16", shape: [2, 1], data_offsets: [12, 16] },
    });
    expect(bytes.length).toBe(8 + length + 16);
    expect(bytes.readUInt16LE(8 + length + 12)).toBe(0x3800); // 0.5 in f16
  });
});

describe("dtype conversion", () => {
  it("reads f16 and bf16 exactly and rounds to nearest even when writing bf16", async () => {
    expect(float16BitsToFloat32(0x3c00)).toBe(1);
    expect(float16BitsToFloat32(0x0001)).toBe(2 ** -24);
    expect(float16BitsToFloat32(0xfc00)).toBe(Number.NEGATIVE_INFINITY);
    expect(bfloat16BitsToFloat32(0x3f80)).toBe(1);
    // 1 + 2^-8 is halfway between two bf16 values; ties go to the even mantissa (1.0).
    expect(float32ToBfloat16Bits(1 + 2 ** -8)).toBe(0x3f80);
    expect(float32ToBfloat16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(float32ToBfloat16Bits(Number.NaN)).toBe(0x7fc0);
    const path = join(directory, "halves.safetensors");
    const values = Float32Array.from([1, -2.5, 65504, 2 ** -24, 3.140625]);
    await writeSafetensorsFile({
      path,
      tensors: [
        { name: "h", shape: [5], data: values, dtype: "F16" },
        { name: "b", shape: [5], data: values, dtype: "BF16" },
      ],
    });
    const checkpoint = await openSafetensorsCheckpoint({ path });
    expect(Array.from(await checkpoint.readFloat32("h"))).toEqual([1, -2.5, 65504, 2 ** -24, 3.140625]);
    expect(Array.from(await checkpoint.readFloat32("b"))).toEqual([1, -2.5, 65536, 2 ** -24, 3.140625]);
  });
});

describe("sharded checkpoints", () => {
  it("splits into numbered shards with an index and reads them back as one checkpoint", async () => {
    const target = join(directory, "sharded");
    const tensors: SafetensorsTensor[] = Array.from({ length: 5 }, (_, index) => ({
      name: `model.layers.${index}.mlp.up_proj.weight`,
      shape: [4, 4],
      data: awkwardFloats(16, index + 10),
    }));
    const written = await writeSafetensorsCheckpoint({ directory: target, tensors, maximumShardBytes: 150 });
    expect(written).toEqual([
      "model-00001-of-00003.safetensors",
      "model-00002-of-00003.safetensors",
      "model-00003-of-00003.safetensors",
      "model.safetensors.index.json",
    ]);
    const index = JSON.parse(await readFile(join(target, "model.safetensors.index.json"), "utf8"));
    expect(index.metadata.total_size).toBe(5 * 64);
    expect(index.weight_map["model.layers.4.mlp.up_proj.weight"]).toBe("model-00003-of-00003.safetensors");
    const checkpoint = await openSafetensorsCheckpoint({ path: target });
    expect(checkpoint.files).toHaveLength(3);
    for (const tensor of tensors) {
      expect(await checkpoint.readFloat32(tensor.name)).toEqual(tensor.data);
      expect(checkpoint.tensors.get(tensor.name)?.shape).toEqual([4, 4]);
    }
  });

  it("writes a single model.safetensors when everything fits", async () => {
    const target = join(directory, "single");
    await writeSafetensorsCheckpoint({
      directory: target,
      tensors: [{ name: "x", shape: [1], data: new Float32Array(1) }],
    });
    expect(await readdir(target)).toEqual(["model.safetensors"]);
  });

  it("refuses an index that maps a tensor to a shard that lacks it, naming the file", async () => {
    const target = join(directory, "broken-index");
    await writeSafetensorsCheckpoint({
      directory: target,
      tensors: [
        { name: "a", shape: [16], data: new Float32Array(16) },
        { name: "b", shape: [16], data: new Float32Array(16) },
      ],
      maximumShardBytes: 64,
    });
    const indexPath = join(target, "model.safetensors.index.json");
    const index = JSON.parse(await readFile(indexPath, "utf8"));
    index.weight_map.c = "model-00001-of-00002.safetensors";
    await writeFile(indexPath, JSON.stringify(index));
    await expect(openSafetensorsCheckpoint({ path: target })).rejects.toThrow(/maps c to .*model-00001-of-00002/);
  });
});

describe("malformed files", () => {
  it("refuses a header whose offsets do not match the shape, naming the tensor and the file", async () => {
    const path = join(directory, "bad-offsets.safetensors");
    const json = Buffer.from(JSON.stringify({ w: { dtype: "F32", shape: [2, 2], data_offsets: [0, 12] } }));
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(json.length));
    await writeFile(path, Buffer.concat([prefix, json, Buffer.alloc(16)]));
    const failure = await readSafetensorsHeader(path).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(InputError);
    expect((failure as Error).message).toContain("bad-offsets.safetensors");
    expect((failure as Error).message).toContain("tensor w: data_offsets span 12 bytes but F32 [2, 2] needs 16");
  });

  it("refuses a file that is not safetensors at all", async () => {
    const path = join(directory, "text.safetensors");
    await writeFile(path, "hello, this is not a checkpoint");
    await expect(readSafetensorsHeader(path)).rejects.toThrow(/header length \d+ exceeds the file/);
  });

  it("refuses to read integer tensors as weights", async () => {
    const path = join(directory, "ints.safetensors");
    const json = Buffer.from(JSON.stringify({ ids: { dtype: "I64", shape: [1], data_offsets: [0, 8] } }));
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(json.length));
    await writeFile(path, Buffer.concat([prefix, json, Buffer.alloc(8)]));
    const checkpoint = await openSafetensorsCheckpoint({ path });
    await expect(checkpoint.readFloat32("ids")).rejects.toThrow(/dtype I64; weights must be F32, F16 or BF16/);
  });
});
