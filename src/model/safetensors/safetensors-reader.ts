/**
 * Reads safetensors checkpoints as Hugging Face publishes them: one `model.safetensors`, or shards
 * listed by `model.safetensors.index.json`. Only headers are read up front; each tensor is read and
 * converted to float32 on request, so loading peaks at one tensor's raw bytes above the weights.
 */
import { open, readFile, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { InputError } from "../../spec/errors.js";
import { decodeBfloat16, decodeFloat16, decodeFloat32 } from "../half-precision.js";
import {
  headerLength,
  parseSafetensorsHeader,
  type SafetensorsHeader,
  type SafetensorsTensorInfo,
} from "./safetensors-format.js";

/** The single-file name Hugging Face uses. */
export const SAFETENSORS_FILE_NAME = "model.safetensors";
/** The shard index Hugging Face writes beside sharded checkpoints. */
export const SAFETENSORS_INDEX_FILE_NAME = "model.safetensors.index.json";

/** An opened checkpoint: every tensor's location, read on demand. */
export interface SafetensorsCheckpoint {
  /** The `.safetensors` files, in shard order. */
  readonly files: readonly string[];
  /** Every tensor by name. */
  readonly tensors: ReadonlyMap<string, SafetensorsTensorInfo>;
  /** `__metadata__` of the first file. */
  readonly metadata: Readonly<Record<string, string>>;
  /** Reads a tensor and converts F32, F16 or BF16 to float32; throws InputError for other dtypes or unknown names. */
  readFloat32(name: string): Promise<Float32Array>;
  /** Reads a tensor's raw little-endian bytes as stored. */
  readBytes(name: string): Promise<Uint8Array>;
}

/** Reads and validates the header of one `.safetensors` file. */
export async function readSafetensorsHeader(file: string): Promise<SafetensorsHeader> {
  const handle = await open(file, "r").catch((error: unknown) => {
    throw new InputError(`cannot open safetensors file: ${(error as Error).message}`, { file, cause: error });
  });
  try {
    const { size } = await handle.stat();
    const prefix = new Uint8Array(8);
    await handle.read(prefix, 0, 8, 0);
    const length = headerLength(prefix, file, size);
    const json = new Uint8Array(length);
    await handle.read(json, 0, length, 8);
    return parseSafetensorsHeader({ json, file, dataBytes: size - 8 - length });
  } finally {
    await handle.close();
  }
}

/**
 * Opens a checkpoint at `path`: a `.safetensors` file, a `model.safetensors.index.json`, or a directory
 * holding either (the index wins when both exist). Throws InputError naming the file on any
 * inconsistency (a mapped tensor missing from its shard, a tensor in two shards, a malformed header).
 */
export async function openSafetensorsCheckpoint({ path }: { path: string }): Promise<SafetensorsCheckpoint> {
  const information = await stat(path).catch(() => undefined);
  if (!information) throw new InputError("no such checkpoint file or directory", { file: path });
  let files: string[];
  let expected: Map<string, string> | undefined;
  if (information.isDirectory()) {
    const index = join(path, SAFETENSORS_INDEX_FILE_NAME);
    if (await exists(index)) ({ files, expected } = await readIndex(index));
    else if (await exists(join(path, SAFETENSORS_FILE_NAME))) files = [join(path, SAFETENSORS_FILE_NAME)];
    else {
      throw new InputError(`no ${SAFETENSORS_FILE_NAME} or ${SAFETENSORS_INDEX_FILE_NAME} in the directory`, {
        file: path,
      });
    }
  } else if (path.endsWith(".json")) ({ files, expected } = await readIndex(path));
  else files = [path];

  const tensors = new Map<string, SafetensorsTensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [index, file] of files.entries()) {
    const header = await readSafetensorsHeader(file);
    if (index === 0) metadata = header.metadata;
    for (const tensor of header.tensors) {
      const previous = tensors.get(tensor.name);
      if (previous) {
        throw new InputError(`tensor ${tensor.name} appears in both ${previous.file} and ${tensor.file}`, { file });
      }
      tensors.set(tensor.name, tensor);
    }
  }
  if (expected) {
    for (const [name, file] of expected) {
      const found = tensors.get(name);
      if (!found) throw new InputError(`the index maps ${name} to ${file}, which does not contain it`, { file });
      if (found.file !== file)
        throw new InputError(`the index maps ${name} to ${file}, found in ${found.file}`, { file });
    }
  }

  const readBytes = async (name: string): Promise<Uint8Array> => {
    const tensor = tensors.get(name);
    if (!tensor) throw new InputError(`checkpoint has no tensor named ${name}`, { file: path });
    const bytes = new Uint8Array(tensor.byteLength);
    const handle = await open(tensor.file, "r");
    try {
      let done = 0;
      while (done < bytes.length) {
        const { bytesRead } = await handle.read(bytes, done, bytes.length - done, tensor.byteOffset + done);
        if (bytesRead === 0) throw new InputError(`tensor ${name} is truncated`, { file: tensor.file });
        done += bytesRead;
      }
    } finally {
      await handle.close();
    }
    return bytes;
  };

  return {
    files,
    tensors,
    metadata,
    readBytes,
    async readFloat32(name) {
      const tensor = tensors.get(name);
      if (!tensor) throw new InputError(`checkpoint has no tensor named ${name}`, { file: path });
      const bytes = await readBytes(name);
      const elements = tensor.shape.reduce((product, dimension) => product * dimension, 1);
      const output = new Float32Array(elements);
      if (tensor.dtype === "F32") decodeFloat32(bytes, output);
      else if (tensor.dtype === "F16") decodeFloat16(bytes, output);
      else if (tensor.dtype === "BF16") decodeBfloat16(bytes, output);
      else {
        throw new InputError(`tensor ${name} has dtype ${tensor.dtype}; weights must be F32, F16 or BF16`, {
          file: tensor.file,
        });
      }
      return output;
    },
  };
}

async function readIndex(indexFile: string): Promise<{ files: string[]; expected: Map<string, string> }> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(indexFile, "utf8"));
  } catch (error) {
    throw new InputError(`cannot read the shard index: ${(error as Error).message}`, { file: indexFile, cause: error });
  }
  const weightMap = (parsed as { weight_map?: unknown } | null)?.weight_map;
  if (typeof weightMap !== "object" || weightMap === null || Array.isArray(weightMap)) {
    throw new InputError("the shard index has no weight_map object", { file: indexFile });
  }
  const directory = dirname(indexFile);
  const expected = new Map<string, string>();
  const files: string[] = [];
  for (const [name, shard] of Object.entries(weightMap)) {
    if (typeof shard !== "string" || shard.includes("/") || shard.includes("\\")) {
      throw new InputError(`weight_map.${name} must be a file name in the same directory`, { file: indexFile });
    }
    const file = join(directory, shard);
    if (!files.includes(file)) files.push(file);
    expected.set(name, file);
  }
  files.sort();
  return { files, expected };
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}
