import { getModuleVersion } from "node-llama-cpp";
import { loadLlamaRuntime } from "./llama-cpp-runtime.js";

/** What `doctor` reports about the in-process llama.cpp backend. */
export interface LlamaCppBackendDescription {
  available: boolean;
  /** node-llama-cpp package version. */
  version: string | undefined;
  /** llama.cpp release the binding was built from. */
  release: string | undefined;
  /** `false` (CPU) or the GPU API in use. */
  gpu: string | false | undefined;
  buildType: string | undefined;
  cpuMathCores: number | undefined;
  /** Why the backend could not load, when it could not. */
  problem: string | undefined;
}

/** Loads the shared llama.cpp runtime (best GPU backend, else CPU; never builds) and describes it. */
export async function describeLlamaCppBackend(): Promise<LlamaCppBackendDescription> {
  let version: string | undefined;
  try {
    version = await getModuleVersion();
  } catch {
    version = undefined;
  }
  try {
    const llama = await loadLlamaRuntime({ gpu: "auto" });
    return {
      available: true,
      version,
      release: llama.llamaCppRelease.release,
      gpu: llama.gpu,
      buildType: llama.buildType,
      cpuMathCores: llama.cpuMathCores,
      problem: undefined,
    };
  } catch (error) {
    return {
      available: false,
      version,
      release: undefined,
      gpu: undefined,
      buildType: undefined,
      cpuMathCores: undefined,
      problem: error instanceof Error ? error.message : String(error),
    };
  }
}
