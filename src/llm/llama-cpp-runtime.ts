/**
 * What the llama.cpp language model and embedding providers share: one native runtime per process,
 * the GGUF file check that turns a wrong path into a clear error, model loading and thread defaults.
 */
import { open, stat } from "node:fs/promises";
import { getLlama, type Llama, LlamaLogLevel, type LlamaModel } from "node-llama-cpp";
import { ModelSpecError, ProviderError } from "../spec/errors.js";

/**
 * Where llama.cpp runs: `"auto"` picks the best available GPU backend (CUDA, Vulkan, Metal) and falls
 * back to the CPU; `false` uses the CPU only; a backend name requires that backend.
 */
export type LlamaCppGpu = "auto" | false | "cuda" | "vulkan" | "metal";

const runtimes = new Map<string, Promise<Llama>>();

/**
 * The llama.cpp runtime for a GPU choice, loaded once per process and shared by every model (the
 * native backend is process-wide anyway). It is never disposed: models and contexts are.
 * Uses prebuilt or previously built binaries only, so a run never starts compiling llama.cpp.
 */
export function loadLlamaRuntime({ gpu = "auto" }: { gpu?: LlamaCppGpu } = {}): Promise<Llama> {
  const key = String(gpu);
  let runtime = runtimes.get(key);
  if (!runtime) {
    runtime = getLlama({ gpu, build: "never", logLevel: LlamaLogLevel.warn }).catch((error: unknown) => {
      runtimes.delete(key);
      throw new ProviderError(
        `llama.cpp could not start (gpu: ${key}): ${errorMessage(error)}; try gpu: false, or build a local binary with \`npx --no node-llama-cpp source download\``,
        { code: "LLAMA_CPP_UNAVAILABLE", retryable: false, cause: error },
      );
    });
    runtimes.set(key, runtime);
  }
  return runtime;
}

/**
 * Threads for evaluation when the caller sets none: one less than the physical cores llama.cpp finds
 * useful for math, at least 1. Leaving a core free matters: on a 2-core machine 1 thread was measured
 * about 20x faster than the default, which oversubscribes the cores the event loop also needs.
 */
export function defaultLlamaCppThreads(mathCores: number): number {
  return Math.max(1, Math.floor(mathCores) - 1);
}

const GGUF_MAGIC = "GGUF";

/**
 * Checks that `path` is a readable GGUF file before llama.cpp sees it (llama.cpp reports a wrong file
 * as a generic load failure). Throws `ModelSpecError` naming the path and the fix.
 */
export async function assertGgufFile({ path, spec }: { path: string; spec: string }): Promise<void> {
  const information = await stat(path).catch(() => undefined);
  if (!information) {
    throw new ModelSpecError(
      spec,
      `model file ${path} does not exist; check the path, or use hf:<owner>/<repo>/<file>.gguf to download a model`,
    );
  }
  if (!information.isFile()) {
    throw new ModelSpecError(spec, `model path ${path} is not a file; point gguf:<path> at a .gguf file`);
  }
  const head = Buffer.alloc(4);
  const handle = await open(path, "r");
  let bytesRead: number;
  try {
    ({ bytesRead } = await handle.read(head, 0, 4, 0));
  } finally {
    await handle.close();
  }
  const magic = head.subarray(0, bytesRead).toString("latin1");
  if (magic !== GGUF_MAGIC) {
    throw new ModelSpecError(
      spec,
      `model file ${path} is not a GGUF file (it starts with ${JSON.stringify(magic)}, not "GGUF"); ` +
        "convert the model with llama.cpp's convert_hf_to_gguf.py or download a .gguf file",
    );
  }
}

/** Checks the file, then loads it once; a load failure becomes `ModelSpecError` naming the path. */
export async function loadGgufModel({
  llama,
  modelPath,
  spec,
}: {
  llama: Llama;
  modelPath: string;
  spec: string;
}): Promise<LlamaModel> {
  await assertGgufFile({ path: modelPath, spec });
  try {
    return await llama.loadModel({ modelPath });
  } catch (error) {
    throw new ModelSpecError(
      spec,
      `llama.cpp could not load ${modelPath}: ${errorMessage(error)}; the file may be truncated or use an architecture this llama.cpp build does not know`,
      { cause: error },
    );
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
