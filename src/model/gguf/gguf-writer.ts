/**
 * A GGUF v3 writer: header, typed metadata, tensor infos and aligned tensor data (f32 and f16).
 * The model exporter builds on it, and the test kit uses it to build tiny models whose output is
 * known in advance. Format reference: the GGUF section of the ggml documentation.
 */

import { writeFileHandleAtomically } from "../atomic-writer.js";
import { float32ToFloat16Bits } from "../half-precision.js";

export { float32ToFloat16Bits } from "../half-precision.js";

/** Scalar value types a metadata entry (or an array's items) can have. */
export type GgufScalarType =
  | "uint8"
  | "int8"
  | "uint16"
  | "int16"
  | "uint32"
  | "int32"
  | "float32"
  | "bool"
  | "string"
  | "uint64"
  | "int64"
  | "float64";

type GgufScalarValue = number | bigint | boolean | string;

/** One metadata value with its GGUF type spelled out (JavaScript numbers do not say int or float). */
export type GgufMetadataValue =
  | { type: GgufScalarType; value: GgufScalarValue }
  | { type: "array"; itemType: GgufScalarType; values: readonly GgufScalarValue[] };

/** Helpers that build typed metadata values: `metadataValue.uint32(4)`, `metadataValue.stringArray([...])`. */
export const metadataValue = {
  uint8: (value: number): GgufMetadataValue => ({ type: "uint8", value }),
  int8: (value: number): GgufMetadataValue => ({ type: "int8", value }),
  uint16: (value: number): GgufMetadataValue => ({ type: "uint16", value }),
  int16: (value: number): GgufMetadataValue => ({ type: "int16", value }),
  uint32: (value: number): GgufMetadataValue => ({ type: "uint32", value }),
  int32: (value: number): GgufMetadataValue => ({ type: "int32", value }),
  uint64: (value: number | bigint): GgufMetadataValue => ({ type: "uint64", value }),
  int64: (value: number | bigint): GgufMetadataValue => ({ type: "int64", value }),
  float32: (value: number): GgufMetadataValue => ({ type: "float32", value }),
  float64: (value: number): GgufMetadataValue => ({ type: "float64", value }),
  bool: (value: boolean): GgufMetadataValue => ({ type: "bool", value }),
  string: (value: string): GgufMetadataValue => ({ type: "string", value }),
  array: (itemType: GgufScalarType, values: readonly GgufScalarValue[]): GgufMetadataValue => ({
    type: "array",
    itemType,
    values,
  }),
  stringArray: (values: readonly string[]): GgufMetadataValue => ({ type: "array", itemType: "string", values }),
  int32Array: (values: readonly number[]): GgufMetadataValue => ({ type: "array", itemType: "int32", values }),
  float32Array: (values: readonly number[]): GgufMetadataValue => ({ type: "array", itemType: "float32", values }),
};

/** Tensor element types this writer encodes. */
export type GgufTensorType = "f32" | "f16";

/** One tensor to write. */
export interface GgufTensor {
  /** Tensor name as llama.cpp expects it, e.g. `blk.0.attn_q.weight`. */
  name: string;
  /**
   * Shape in row-major order, outermost dimension first (as in PyTorch: an `[nVocab, nEmbd]` embedding).
   * GGUF stores dimensions innermost first, so the writer reverses this list.
   */
  shape: readonly number[];
  /** Element type on disk; values are converted from `data`. */
  type: GgufTensorType;
  /** Row-major values; length must equal the product of `shape`. */
  data: Float32Array;
}

/** What a GGUF file holds: ordered metadata and tensors. */
export interface GgufContents {
  /** Metadata entries in write order. `general.alignment` (uint32), when present, sets the data alignment. */
  metadata: Readonly<Record<string, GgufMetadataValue>>;
  tensors: readonly GgufTensor[];
}

const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian uint32
const GGUF_VERSION = 3;
const DEFAULT_ALIGNMENT = 32;

const VALUE_TYPE_CODES: Record<GgufScalarType | "array", number> = {
  uint8: 0,
  int8: 1,
  uint16: 2,
  int16: 3,
  uint32: 4,
  int32: 5,
  float32: 6,
  bool: 7,
  string: 8,
  array: 9,
  uint64: 10,
  int64: 11,
  float64: 12,
};

const TENSOR_TYPE_CODES: Record<GgufTensorType, number> = { f32: 0, f16: 1 };
const TENSOR_ELEMENT_BYTES: Record<GgufTensorType, number> = { f32: 4, f16: 2 };

/** Encodes a GGUF file in memory. Suits small models; use `writeGgufFile` for large ones. */
export function writeGguf(contents: GgufContents): Uint8Array {
  const layout = layOut(contents);
  const output = new Uint8Array(layout.totalBytes);
  output.set(layout.header, 0);
  for (const [index, tensor] of contents.tensors.entries()) {
    output.set(encodeTensorData(tensor), layout.dataStart + (layout.offsets[index] ?? 0));
  }
  return output;
}

/**
 * Writes a GGUF file tensor by tensor, so memory stays at one tensor's size. Writes to a temporary
 * file beside `path` and renames it into place, so a crash never leaves a half-written model.
 */
export async function writeGgufFile({ path, ...contents }: GgufContents & { path: string }): Promise<void> {
  const layout = layOut(contents);
  await writeFileHandleAtomically({ path }, async (handle) => {
    await handle.write(layout.header, 0, layout.header.length, 0);
    for (const [index, tensor] of contents.tensors.entries()) {
      const bytes = encodeTensorData(tensor);
      await handle.write(bytes, 0, bytes.length, layout.dataStart + (layout.offsets[index] ?? 0));
    }
    // Pads the end so the file length matches the aligned layout that readers compute.
    await handle.truncate(layout.totalBytes);
  });
}

interface Layout {
  /** Magic, version, counts, metadata, tensor infos and padding up to the data section. */
  header: Uint8Array;
  dataStart: number;
  /** Byte offset of each tensor's data from `dataStart`. */
  offsets: number[];
  totalBytes: number;
}

function layOut({ metadata, tensors }: GgufContents): Layout {
  const alignment = resolveAlignment(metadata);
  const offsets: number[] = [];
  let dataBytes = 0;
  const names = new Set<string>();
  for (const tensor of tensors) {
    validateTensor(tensor, names);
    offsets.push(dataBytes);
    dataBytes = alignUp(dataBytes + tensorByteLength(tensor), alignment);
  }
  const writer = new ByteWriter();
  writer.uint32(GGUF_MAGIC);
  writer.uint32(GGUF_VERSION);
  writer.uint64(BigInt(tensors.length));
  writer.uint64(BigInt(Object.keys(metadata).length));
  for (const [key, value] of Object.entries(metadata)) {
    writer.string(key);
    writeMetadataValue(writer, key, value);
  }
  for (const [index, tensor] of tensors.entries()) {
    writer.string(tensor.name);
    writer.uint32(tensor.shape.length);
    for (const dimension of [...tensor.shape].reverse()) writer.uint64(BigInt(dimension));
    writer.uint32(TENSOR_TYPE_CODES[tensor.type]);
    writer.uint64(BigInt(offsets[index] ?? 0));
  }
  const dataStart = alignUp(writer.length, alignment);
  writer.padTo(dataStart);
  return { header: writer.toBytes(), dataStart, offsets, totalBytes: dataStart + dataBytes };
}

function resolveAlignment(metadata: GgufContents["metadata"]): number {
  const entry = metadata["general.alignment"];
  if (!entry) return DEFAULT_ALIGNMENT;
  if (entry.type !== "uint32" || typeof entry.value !== "number" || entry.value <= 0 || entry.value % 8 !== 0) {
    throw new RangeError("GGUF metadata general.alignment must be a uint32 multiple of 8");
  }
  return entry.value;
}

function validateTensor(tensor: GgufTensor, names: Set<string>): void {
  if (names.has(tensor.name)) throw new RangeError(`GGUF tensor ${tensor.name} appears twice`);
  names.add(tensor.name);
  if (tensor.shape.length < 1 || tensor.shape.length > 4) {
    throw new RangeError(`GGUF tensor ${tensor.name} must have 1 to 4 dimensions, got ${tensor.shape.length}`);
  }
  const elements = tensor.shape.reduce((product, dimension) => product * dimension, 1);
  if (tensor.shape.some((dimension) => !Number.isInteger(dimension) || dimension < 1)) {
    throw new RangeError(`GGUF tensor ${tensor.name} has an invalid shape [${tensor.shape.join(", ")}]`);
  }
  if (elements !== tensor.data.length) {
    throw new RangeError(
      `GGUF tensor ${tensor.name} has shape [${tensor.shape.join(", ")}] (${elements} values) but ${tensor.data.length} values`,
    );
  }
}

function tensorByteLength(tensor: GgufTensor): number {
  return tensor.data.length * TENSOR_ELEMENT_BYTES[tensor.type];
}

function encodeTensorData(tensor: GgufTensor): Uint8Array {
  if (tensor.type === "f32") {
    const copy = new Float32Array(tensor.data);
    return littleEndianBytes(copy);
  }
  const halves = new Uint16Array(tensor.data.length);
  for (let index = 0; index < tensor.data.length; index++)
    halves[index] = float32ToFloat16Bits(tensor.data[index] ?? 0);
  return littleEndianBytes(halves);
}

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function littleEndianBytes(array: Float32Array | Uint16Array): Uint8Array {
  const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  if (HOST_IS_LITTLE_ENDIAN) return bytes;
  const width = array.BYTES_PER_ELEMENT;
  const swapped = new Uint8Array(bytes.length);
  for (let start = 0; start < bytes.length; start += width) {
    for (let index = 0; index < width; index++) swapped[start + index] = bytes[start + width - 1 - index] ?? 0;
  }
  return swapped;
}

function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

function writeMetadataValue(writer: ByteWriter, key: string, entry: GgufMetadataValue): void {
  writer.uint32(VALUE_TYPE_CODES[entry.type]);
  if (entry.type === "array") {
    if (entry.itemType === ("array" as GgufScalarType)) throw new RangeError(`GGUF metadata ${key}: nested arrays`);
    writer.uint32(VALUE_TYPE_CODES[entry.itemType]);
    writer.uint64(BigInt(entry.values.length));
    for (const item of entry.values) writeScalar(writer, key, entry.itemType, item);
    return;
  }
  writeScalar(writer, key, entry.type, entry.value);
}

function writeScalar(writer: ByteWriter, key: string, type: GgufScalarType, value: GgufScalarValue): void {
  const mismatch = () => new TypeError(`GGUF metadata ${key}: ${JSON.stringify(String(value))} is not a ${type}`);
  if (type === "string") {
    if (typeof value !== "string") throw mismatch();
    writer.string(value);
    return;
  }
  if (type === "bool") {
    if (typeof value !== "boolean") throw mismatch();
    writer.uint8(value ? 1 : 0);
    return;
  }
  if (type === "uint64" || type === "int64") {
    if (typeof value !== "number" && typeof value !== "bigint") throw mismatch();
    const big = BigInt(value);
    if (type === "uint64") writer.uint64(BigInt.asUintN(64, big));
    else writer.int64(BigInt.asIntN(64, big));
    return;
  }
  if (typeof value !== "number") throw mismatch();
  if (type === "float32") writer.float32(value);
  else if (type === "float64") writer.float64(value);
  else writer.integer(type, value, mismatch);
}

const INTEGER_RANGES = {
  uint8: [0, 0xff, 1],
  int8: [-0x80, 0x7f, 1],
  uint16: [0, 0xffff, 2],
  int16: [-0x8000, 0x7fff, 2],
  uint32: [0, 0xffffffff, 4],
  int32: [-0x80000000, 0x7fffffff, 4],
} as const;

/** Grows a little-endian byte buffer as values are appended. */
class ByteWriter {
  private buffer = new Uint8Array(1024);
  private view = new DataView(this.buffer.buffer);
  length = 0;

  private reserve(bytes: number): number {
    const start = this.length;
    if (start + bytes > this.buffer.length) {
      const grown = new Uint8Array(Math.max(this.buffer.length * 2, start + bytes));
      grown.set(this.buffer.subarray(0, start));
      this.buffer = grown;
      this.view = new DataView(grown.buffer);
    }
    this.length += bytes;
    return start;
  }

  uint8(value: number): void {
    const start = this.reserve(1);
    this.view.setUint8(start, value);
  }
  uint32(value: number): void {
    const start = this.reserve(4);
    this.view.setUint32(start, value, true);
  }
  uint64(value: bigint): void {
    const start = this.reserve(8);
    this.view.setBigUint64(start, value, true);
  }
  int64(value: bigint): void {
    const start = this.reserve(8);
    this.view.setBigInt64(start, value, true);
  }
  float32(value: number): void {
    const start = this.reserve(4);
    this.view.setFloat32(start, value, true);
  }
  float64(value: number): void {
    const start = this.reserve(8);
    this.view.setFloat64(start, value, true);
  }
  integer(type: keyof typeof INTEGER_RANGES, value: number, mismatch: () => Error): void {
    const [minimum, maximum, width] = INTEGER_RANGES[type];
    if (!Number.isInteger(value) || value < minimum || value > maximum) throw mismatch();
    const start = this.reserve(width);
    if (width === 1) this.view.setUint8(start, value & 0xff);
    else if (width === 2) this.view.setUint16(start, value & 0xffff, true);
    else this.view.setUint32(start, value >>> 0, true);
  }
  string(value: string): void {
    const bytes = new TextEncoder().encode(value);
    this.uint64(BigInt(bytes.length));
    const start = this.reserve(bytes.length);
    this.buffer.set(bytes, start);
  }
  padTo(length: number): void {
    if (length > this.length) this.reserve(length - this.length);
  }
  toBytes(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}
