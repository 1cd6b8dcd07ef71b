import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readGgufFileInfo } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { float32ToFloat16Bits, type GgufContents, metadataValue, writeGguf, writeGgufFile } from "./gguf-writer.js";

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "gguf-writer-"));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

const contents: GgufContents = {
  metadata: {
    "general.architecture": metadataValue.string("llama"),
    "test.uint8": metadataValue.uint8(200),
    "test.int8": metadataValue.int8(-100),
    "test.uint16": metadataValue.uint16(60000),
    "test.int16": metadataValue.int16(-30000),
    "test.uint32": metadataValue.uint32(4000000000),
    "test.int32": metadataValue.int32(-2000000000),
    "test.uint64": metadataValue.uint64(2n ** 40n),
    "test.int64": metadataValue.int64(-(2n ** 40n)),
    "test.float32": metadataValue.float32(0.5),
    "test.float64": metadataValue.float64(1 / 3),
    "test.bool": metadataValue.bool(true),
    "test.string": metadataValue.string("héllo ✓"),
    "test.strings": metadataValue.stringArray(["a", "", "ü"]),
    "test.ints": metadataValue.int32Array([1, -2, 3]),
    "test.floats": metadataValue.float32Array([0.25, -1.5]),
    "test.empty": metadataValue.stringArray([]),
  },
  tensors: [
    { name: "a.weight", shape: [2, 3], type: "f32", data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
    { name: "b.weight", shape: [5], type: "f16", data: Float32Array.from([0.5, -1, 2, 65504, 0.1]) },
    { name: "c.weight", shape: [1], type: "f32", data: Float32Array.from([-7]) },
  ],
};

describe("writeGguf", () => {
  it("starts with the GGUF v3 header: magic, version, tensor and metadata counts", () => {
    const bytes = writeGguf(contents);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect(new TextDecoder().decode(bytes.subarray(0, 4))).toBe("GGUF");
    expect(view.getUint32(4, true)).toBe(3);
    expect(view.getBigUint64(8, true)).toBe(3n);
    expect(view.getBigUint64(16, true)).toBe(BigInt(Object.keys(contents.metadata).length));
  });

  it("round-trips metadata, tensor infos and 32-byte aligned data through node-llama-cpp's reader", async () => {
    const path = join(directory, "round-trip.gguf");
    await writeGgufFile({ path, ...contents });
    const info = await readGgufFileInfo(path, { logWarnings: false });
    const metadata = info.metadata as unknown as Record<string, Record<string, unknown>>;
    expect(info.version).toBe(3);
    expect(metadata.general?.architecture).toBe("llama");
    expect(metadata.test).toMatchObject({
      uint8: 200,
      int8: -100,
      uint16: 60000,
      int16: -30000,
      uint32: 4000000000,
      int32: -2000000000,
      float32: 0.5,
      bool: true,
      string: "héllo ✓",
      strings: ["a", "", "ü"],
      ints: [1, -2, 3],
      floats: [0.25, -1.5],
      empty: [],
    });
    expect(BigInt(metadata.test?.uint64 as bigint)).toBe(2n ** 40n);
    expect(BigInt(metadata.test?.int64 as bigint)).toBe(-(2n ** 40n));
    expect(metadata.test?.float64).toBeCloseTo(1 / 3, 15);

    const tensors = info.tensorInfo ?? [];
    expect(tensors.map((tensor) => tensor.name)).toEqual(["a.weight", "b.weight", "c.weight"]);
    // GGUF lists dimensions innermost first: a [2, 3] row-major tensor is stored as ne = [3, 2].
    expect(tensors.map((tensor) => tensor.dimensions.map(Number))).toEqual([[3, 2], [5], [1]]);
    expect(tensors.map((tensor) => tensor.ggmlType)).toEqual([0, 1, 0]);
    for (const tensor of tensors) expect(Number(tensor.fileOffset) % 32).toBe(0);

    const file = await readFile(path);
    const [a, b, c] = tensors;
    const aOffset = Number(a?.fileOffset);
    expect(
      Array.from(new Float32Array(file.buffer.slice(file.byteOffset + aOffset, file.byteOffset + aOffset + 24))),
    ).toEqual([1, 2, 3, 4, 5, 6]);
    const bOffset = Number(b?.fileOffset);
    const halves = Array.from({ length: 5 }, (_, index) => file.readUInt16LE(bOffset + index * 2));
    expect(halves).toEqual([0x3800, 0xbc00, 0x4000, 0x7bff, 0x2e66]);
    expect(file.readFloatLE(Number(c?.fileOffset))).toBe(-7);
    expect(file.length % 32).toBe(0);
  });

  it("writes the same bytes in memory and to a file, leaving no temporary file behind", async () => {
    const path = join(directory, "same.gguf");
    await writeGgufFile({ path, ...contents });
    expect(new Uint8Array(await readFile(path))).toEqual(writeGguf(contents));
    expect((await readdir(directory)).filter((name) => name.includes("partial"))).toEqual([]);
  });

  it("rejects data that does not match the shape, naming the tensor", () => {
    expect(() =>
      writeGguf({
        metadata: {},
        tensors: [{ name: "x.weight", shape: [2, 2], type: "f32", data: new Float32Array(3) }],
      }),
    ).toThrow(/x\.weight.*\[2, 2\].*3 values/);
  });

  it("rejects a metadata value outside its type's range, naming the key", () => {
    expect(() => writeGguf({ metadata: { "bad.key": metadataValue.uint8(300) }, tensors: [] })).toThrow(/bad\.key/);
    expect(() => writeGguf({ metadata: { "bad.float": metadataValue.int32(1.5) }, tensors: [] })).toThrow(/bad\.float/);
  });

  it("honours general.alignment", () => {
    const bytes = writeGguf({
      metadata: { "general.alignment": metadataValue.uint32(64) },
      tensors: [
        { name: "p", shape: [3], type: "f32", data: new Float32Array(3) },
        { name: "q", shape: [1], type: "f32", data: Float32Array.from([9]) },
      ],
    });
    expect(bytes.length % 64).toBe(0);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect(view.getFloat32(bytes.length - 64, true)).toBe(9);
  });
});

describe("float32ToFloat16Bits", () => {
  it("encodes normal, extreme and special values with round-to-nearest-even", () => {
    expect(float32ToFloat16Bits(1)).toBe(0x3c00);
    expect(float32ToFloat16Bits(-2)).toBe(0xc000);
    expect(float32ToFloat16Bits(0)).toBe(0x0000);
    expect(float32ToFloat16Bits(-0)).toBe(0x8000);
    expect(float32ToFloat16Bits(65504)).toBe(0x7bff);
    expect(float32ToFloat16Bits(65520)).toBe(0x7c00);
    expect(float32ToFloat16Bits(Number.POSITIVE_INFINITY)).toBe(0x7c00);
    expect(float32ToFloat16Bits(Number.NEGATIVE_INFINITY)).toBe(0xfc00);
    expect(float32ToFloat16Bits(Number.NaN) & 0x7c00).toBe(0x7c00);
    expect(float32ToFloat16Bits(Number.NaN) & 0x03ff).not.toBe(0);
    expect(float32ToFloat16Bits(2 ** -24)).toBe(0x0001);
    expect(float32ToFloat16Bits(2 ** -14)).toBe(0x0400);
    expect(float32ToFloat16Bits(1e-9)).toBe(0x0000);
    expect(float32ToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00);
    expect(float32ToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
  });
});
