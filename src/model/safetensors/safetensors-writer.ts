/**
 * Writes safetensors checkpoints in the Hugging Face layout: `model.safetensors`, or shards named
 * `model-00001-of-00003.safetensors` with a `model.safetensors.index.json` mapping every tensor to
 * its shard. Files are written to a temporary name and renamed into place, tensor by tensor.
 */
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomically, writeFileHandleAtomically } from "../atomic-writer.js";
import { encodeFloats } from "../half-precision.js";
import { encodeSafetensorsHeader, SAFETENSORS_DTYPE_BYTES, type SafetensorsFloatDtype } from "./safetensors-format.js";
import { SAFETENSORS_FILE_NAME, SAFETENSORS_INDEX_FILE_NAME } from "./safetensors-reader.js";

/** One tensor to write, given as float32 values (or as raw bytes already in `dtype`). */
export interface SafetensorsTensor {
  /** Hugging Face name, e.g. `model.layers.0.self_attn.q_proj.weight`. */
  name: string;
  /** Row-major shape, outermost first (PyTorch order). */
  shape: readonly number[];
  /** Values; converted to the file's dtype with round-to-nearest-even. */
  data: Float32Array | { bytes: Uint8Array };
  /** This tensor's dtype; default the file's. Raw `bytes` must already be in it. */
  dtype?: SafetensorsFloatDtype;
}

/** What Hugging Face's `save_pretrained` puts in `__metadata__`. */
export const HUGGING_FACE_SAFETENSORS_METADATA: Readonly<Record<string, string>> = { format: "pt" };

/** Hugging Face's default largest shard: 5 GB (decimal). */
export const DEFAULT_MAXIMUM_SHARD_BYTES = 5_000_000_000;

/**
 * Writes one `.safetensors` file. Tensors are laid out in the order given. `dtype` (default F32)
 * applies to tensors that name none; `metadata` defaults to Hugging Face's `{ format: "pt" }`.
 * Returns the file's size in bytes.
 */
export async function writeSafetensorsFile({
  path,
  tensors,
  dtype = "F32",
  metadata = HUGGING_FACE_SAFETENSORS_METADATA,
}: {
  path: string;
  tensors: readonly SafetensorsTensor[];
  dtype?: SafetensorsFloatDtype;
  metadata?: Readonly<Record<string, string>>;
}): Promise<number> {
  const resolved = tensors.map((tensor) => ({ ...tensor, dtype: tensor.dtype ?? dtype }));
  for (const tensor of resolved) validateTensor(tensor);
  const { header, offsets } = encodeSafetensorsHeader({ metadata, tensors: resolved });
  await writeFileHandleAtomically({ path }, async (handle) => {
    await handle.write(header, 0, header.length, 0);
    for (const [index, tensor] of resolved.entries()) {
      const bytes = "bytes" in tensor.data ? tensor.data.bytes : encodeFloats(tensor.data, formatOf(tensor.dtype));
      await handle.write(bytes, 0, bytes.length, header.length + (offsets[index]?.[0] ?? 0));
    }
  });
  return header.length + (offsets.at(-1)?.[1] ?? 0);
}

/**
 * Writes a checkpoint into `directory` (created if missing): one `model.safetensors` when everything
 * fits in `maximumShardBytes` (default 5 GB, as Hugging Face), else numbered shards plus the index,
 * filled in the order given as `save_pretrained` does. Returns the file names written.
 */
export async function writeSafetensorsCheckpoint({
  directory,
  tensors,
  dtype = "F32",
  maximumShardBytes = DEFAULT_MAXIMUM_SHARD_BYTES,
  metadata = HUGGING_FACE_SAFETENSORS_METADATA,
}: {
  directory: string;
  tensors: readonly SafetensorsTensor[];
  dtype?: SafetensorsFloatDtype;
  maximumShardBytes?: number;
  metadata?: Readonly<Record<string, string>>;
}): Promise<string[]> {
  await mkdir(directory, { recursive: true });
  const shards: SafetensorsTensor[][] = [[]];
  let shardBytes = 0;
  let totalBytes = 0;
  for (const tensor of tensors) {
    const bytes = tensorBytes({ ...tensor, dtype: tensor.dtype ?? dtype });
    const current = shards.at(-1) as SafetensorsTensor[];
    if (current.length > 0 && shardBytes + bytes > maximumShardBytes) {
      shards.push([tensor]);
      shardBytes = bytes;
    } else {
      current.push(tensor);
      shardBytes += bytes;
    }
    totalBytes += bytes;
  }
  if (shards.length === 1) {
    await writeSafetensorsFile({ path: join(directory, SAFETENSORS_FILE_NAME), tensors, dtype, metadata });
    await rm(join(directory, SAFETENSORS_INDEX_FILE_NAME), { force: true });
    return [SAFETENSORS_FILE_NAME];
  }
  const names = shards.map(
    (_, index) =>
      `model-${String(index + 1).padStart(5, "0")}-of-${String(shards.length).padStart(5, "0")}.safetensors`,
  );
  const weightMap: Record<string, string> = {};
  for (const [index, shard] of shards.entries()) {
    const name = names[index] as string;
    await writeSafetensorsFile({ path: join(directory, name), tensors: shard, dtype, metadata });
    for (const tensor of shard) weightMap[tensor.name] = name;
  }
  const index = { metadata: { total_size: totalBytes }, weight_map: sortedObject(weightMap) };
  writeFileAtomically({
    path: join(directory, SAFETENSORS_INDEX_FILE_NAME),
    data: `${JSON.stringify(index, null, 2)}\n`,
  });
  await rm(join(directory, SAFETENSORS_FILE_NAME), { force: true });
  return [...names, SAFETENSORS_INDEX_FILE_NAME];
}

function formatOf(dtype: SafetensorsFloatDtype): "f32" | "f16" | "bf16" {
  return dtype === "F32" ? "f32" : dtype === "F16" ? "f16" : "bf16";
}

function tensorBytes(tensor: SafetensorsTensor & { dtype: SafetensorsFloatDtype }): number {
  const elements = tensor.shape.reduce((product, dimension) => product * dimension, 1);
  return elements * SAFETENSORS_DTYPE_BYTES[tensor.dtype];
}

function validateTensor(tensor: SafetensorsTensor & { dtype: SafetensorsFloatDtype }): void {
  if (tensor.shape.some((dimension) => !Number.isSafeInteger(dimension) || dimension < 0)) {
    throw new RangeError(`safetensors tensor ${tensor.name} has an invalid shape [${tensor.shape.join(", ")}]`);
  }
  const elements = tensor.shape.reduce((product, dimension) => product * dimension, 1);
  const given = "bytes" in tensor.data ? tensor.data.bytes.length : tensor.data.length;
  const wanted = "bytes" in tensor.data ? tensorBytes(tensor) : elements;
  if (given !== wanted) {
    throw new RangeError(
      `safetensors tensor ${tensor.name} has shape [${tensor.shape.join(", ")}] but ${given} ${"bytes" in tensor.data ? "bytes" : "values"} (expected ${wanted})`,
    );
  }
}

function sortedObject(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([first], [second]) => (first < second ? -1 : 1)));
}
