/**
 * The safetensors file format: an 8-byte little-endian header length, a JSON header mapping tensor
 * names to `{ dtype, shape, data_offsets }` (plus an optional `__metadata__` of strings), then the
 * raw little-endian tensor bytes. Offsets are relative to the first byte after the header.
 */
import { InputError } from "../../spec/errors.js";

/** Element types a safetensors header may name. Only F32, F16 and BF16 load as model weights. */
export type SafetensorsDtype =
  | "F64"
  | "F32"
  | "F16"
  | "BF16"
  | "I64"
  | "I32"
  | "I16"
  | "I8"
  | "U64"
  | "U32"
  | "U16"
  | "U8"
  | "BOOL"
  | "F8_E4M3"
  | "F8_E5M2";

/** Float element types this toolkit reads as weights and writes. */
export type SafetensorsFloatDtype = "F32" | "F16" | "BF16";

/** Bytes per element of each dtype. */
export const SAFETENSORS_DTYPE_BYTES: Readonly<Record<SafetensorsDtype, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
};

/** Where one tensor lives: absolute byte position in its file. */
export interface SafetensorsTensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** The `.safetensors` file holding it. */
  file: string;
  /** Absolute byte offset of its first byte in `file`. */
  byteOffset: number;
  byteLength: number;
}

/** A parsed header. */
export interface SafetensorsHeader {
  /** The `__metadata__` strings (Hugging Face writes `{ format: "pt" }`); empty when absent. */
  metadata: Record<string, string>;
  /** Tensors in data order. */
  tensors: SafetensorsTensorInfo[];
  /** Byte offset of the data section (8 + header length). */
  dataStart: number;
}

/** Headers above this size are refused as corrupt rather than allocated (the format's own limit). */
const MAXIMUM_HEADER_BYTES = 100_000_000;

/** Reads the header length from the first 8 bytes; throws InputError naming `file` when implausible. */
export function headerLength(prefix: Uint8Array, file: string, fileBytes: number): number {
  if (prefix.length < 8) throw new InputError("not a safetensors file: shorter than 8 bytes", { file });
  const length = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (length > BigInt(Math.min(MAXIMUM_HEADER_BYTES, fileBytes - 8))) {
    throw new InputError(`not a safetensors file: header length ${length} exceeds the file (${fileBytes} bytes)`, {
      file,
    });
  }
  return Number(length);
}

/** Parses and validates the JSON header; every tensor must fit inside the `dataBytes` that follow it. */
export function parseSafetensorsHeader({
  json,
  file,
  dataBytes,
}: {
  json: Uint8Array;
  file: string;
  dataBytes: number;
}): SafetensorsHeader {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(json));
  } catch (error) {
    throw new InputError(`safetensors header is not valid UTF-8 JSON: ${(error as Error).message}`, {
      file,
      cause: error,
    });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new InputError("safetensors header must be a JSON object", { file });
  }
  const dataStart = 8 + json.length;
  const metadata: Record<string, string> = {};
  const tensors: SafetensorsTensorInfo[] = [];
  for (const [name, entry] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof entry !== "object" || entry === null) throw new InputError("__metadata__ must be an object", { file });
      for (const [key, value] of Object.entries(entry)) {
        if (typeof value !== "string") throw new InputError(`__metadata__.${key} must be a string`, { file });
        metadata[key] = value;
      }
      continue;
    }
    tensors.push(parseTensorEntry({ name, entry, file, dataStart, dataBytes }));
  }
  tensors.sort((first, second) => first.byteOffset - second.byteOffset);
  for (let index = 1; index < tensors.length; index++) {
    const previous = tensors[index - 1] as SafetensorsTensorInfo;
    const current = tensors[index] as SafetensorsTensorInfo;
    if (current.byteOffset < previous.byteOffset + previous.byteLength) {
      throw new InputError(`safetensors tensors ${previous.name} and ${current.name} overlap`, { file });
    }
  }
  return { metadata, tensors, dataStart };
}

function parseTensorEntry({
  name,
  entry,
  file,
  dataStart,
  dataBytes,
}: {
  name: string;
  entry: unknown;
  file: string;
  dataStart: number;
  dataBytes: number;
}): SafetensorsTensorInfo {
  const fail = (message: string) => new InputError(`safetensors tensor ${name}: ${message}`, { file });
  if (typeof entry !== "object" || entry === null) throw fail("entry must be an object");
  const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
  if (typeof dtype !== "string" || !(dtype in SAFETENSORS_DTYPE_BYTES)) {
    throw fail(`unknown dtype ${JSON.stringify(dtype)}`);
  }
  if (!Array.isArray(shape) || shape.some((dimension) => !Number.isSafeInteger(dimension) || dimension < 0)) {
    throw fail(`shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    offsets.some((offset) => !Number.isSafeInteger(offset) || offset < 0)
  ) {
    throw fail(`data_offsets must be [begin, end], got ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  const elements = (shape as number[]).reduce((product, dimension) => product * dimension, 1);
  const expected = elements * SAFETENSORS_DTYPE_BYTES[dtype as SafetensorsDtype];
  if (end - begin !== expected) {
    throw fail(`data_offsets span ${end - begin} bytes but ${dtype} [${shape.join(", ")}] needs ${expected}`);
  }
  if (end > dataBytes) throw fail(`data ends at byte ${end}, past the end of the data section (${dataBytes} bytes)`);
  return {
    name,
    dtype: dtype as SafetensorsDtype,
    shape: [...(shape as number[])],
    file,
    byteOffset: dataStart + begin,
    byteLength: expected,
  };
}

/**
 * Encodes a header for tensors laid out back to back in the given order, padded with spaces so the
 * data section starts on an 8-byte boundary (as the reference implementation does).
 */
export function encodeSafetensorsHeader({
  metadata,
  tensors,
}: {
  metadata: Readonly<Record<string, string>>;
  tensors: readonly { name: string; dtype: SafetensorsDtype; shape: readonly number[] }[];
}): { header: Uint8Array; offsets: [number, number][] } {
  const entries: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) entries.__metadata__ = metadata;
  const offsets: [number, number][] = [];
  let cursor = 0;
  for (const tensor of tensors) {
    if (tensor.name === "__metadata__" || tensor.name in entries) {
      throw new RangeError(`safetensors tensor name ${tensor.name} is reserved or repeated`);
    }
    const elements = tensor.shape.reduce((product, dimension) => product * dimension, 1);
    const end = cursor + elements * SAFETENSORS_DTYPE_BYTES[tensor.dtype];
    offsets.push([cursor, end]);
    entries[tensor.name] = { dtype: tensor.dtype, shape: [...tensor.shape], data_offsets: [cursor, end] };
    cursor = end;
  }
  const json = new TextEncoder().encode(JSON.stringify(entries));
  const padded = Math.ceil(json.length / 8) * 8;
  const header = new Uint8Array(8 + padded).fill(0x20, 8);
  new DataView(header.buffer).setBigUint64(0, BigInt(padded), true);
  header.set(json, 8);
  return { header, offsets };
}
