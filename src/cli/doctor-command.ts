import { accessSync, constants, mkdirSync } from "node:fs";
import type { Command } from "commander";
import { describeEngine, type EngineDescription } from "../engine/engine-description.js";
import { probeEndpoint } from "../llm/endpoint-probe.js";
import { findCachedHuggingFaceCheckpoint } from "../llm/hugging-face-checkpoint.js";
import { findCachedHuggingFaceModelFile } from "../llm/hugging-face-model-file.js";
import { describeLlamaCppBackend } from "../llm/llama-cpp-backend.js";
import { parseModelSpec } from "../llm/model-spec.js";
import { DoctorCheckFailedError } from "../spec/errors.js";
import { findTorchPython } from "../train/torch-python.js";
import { type CliContext, createCliContext } from "./cli-context.js";
import { DEFAULT_AGENT_MODEL } from "./default-models.js";
import { OPENAI_DEFAULT_BASE_URL } from "./model-factory.js";
import { checkModelsUsable } from "./model-preflight.js";
import { integerOption } from "./option-parsers.js";

/** One line of the doctor's report. */
export interface DoctorCheck {
  name: string;
  status: "ok" | "warn" | "fail";
  detail: string;
}

/** `stable-alignment doctor`: Node, BLAS, llama.cpp, configured endpoints, cache location. */
export function registerDoctorCommand(program: Command): void {
  program
    .command("doctor")
    .description(
      "check this machine: Node.js, BLAS, llama.cpp backend, PyTorch for --backend torch, configured endpoints, cache location",
    )
    .option("--json", "print the checks as one JSON object")
    .option("--timeout-ms <ms>", "how long to wait for each endpoint", integerOption("--timeout-ms", { min: 1 }), 3000)
    .action(async (options: { json?: boolean; timeoutMs: number }, command: Command) => {
      const context = createCliContext(command);
      const checks = await runDoctorChecks({ context, timeoutMs: options.timeoutMs });
      if (options.json) {
        context.stdout.write(`${JSON.stringify({ checks })}\n`);
      } else {
        const width = Math.max(...checks.map((check) => check.name.length));
        for (const check of checks) {
          context.stdout.write(`${check.status.padEnd(4)}  ${check.name.padEnd(width)}  ${check.detail}\n`);
        }
      }
      // Exit 1 when any check fails; warnings (no API key, a default model not cached yet) do not.
      const failed = checks.filter((check) => check.status === "fail").map((check) => check.name);
      if (failed.length > 0) throw new DoctorCheckFailedError(failed);
    });
}

/**
 * Runs every check; never throws (a failing check is a `fail` line). `blasLibraryPaths`: the BLAS
 * libraries to probe instead of the usual locations (default: the usual ones, as training would).
 */
export async function runDoctorChecks({
  context,
  timeoutMs = 3000,
  blasLibraryPaths,
  torchPython,
}: {
  context: CliContext;
  /** The interpreter to probe for `train --backend torch` (default: python3, then /usr/bin/python3). */
  torchPython?: string;
  timeoutMs?: number;
  blasLibraryPaths?: readonly string[] | undefined;
}): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const major = Number.parseInt(process.versions.node.split(".")[0] ?? "0", 10);
  checks.push({
    name: "node",
    status: major >= 20 ? "ok" : "fail",
    detail: major >= 20 ? `v${process.versions.node}` : `v${process.versions.node}: Node.js 20 or newer is required`,
  });
  checks.push({
    name: "config",
    status: "ok",
    detail: context.configFile ?? "none (stable-alignment.config.yaml not found; using defaults)",
  });
  checks.push(checkCacheDirectory(context.cacheDirectory));

  const engine = describeEngine(blasLibraryPaths === undefined ? {} : { libraryPaths: blasLibraryPaths });
  checks.push(checkBlas(engine));
  checks.push({
    name: "engine kernels",
    status: engine.elementwise === "typescript" ? "warn" : "ok",
    detail: `element-wise ops in ${engine.kernels}`,
  });
  checks.push({
    name: "local models",
    status: "ok",
    detail:
      "local:<dir> checkpoints run on this toolkit's TypeScript engine with the BLAS above (not through llama.cpp)",
  });

  const llama = await describeLlamaCppBackend();
  checks.push(
    llama.available
      ? {
          name: "llama.cpp",
          status: "ok",
          detail: `node-llama-cpp ${llama.version}, llama.cpp ${llama.release}, ${llama.gpu === false ? "CPU" : llama.gpu}, ${llama.buildType} binary, ${llama.cpuMathCores} math cores`,
        }
      : { name: "llama.cpp", status: "fail", detail: `backend did not load: ${llama.problem}` },
  );

  checks.push(checkTorch(torchPython === undefined ? {} : { python: torchPython }));

  const environment = context.environment;
  checks.push({
    name: "OPENAI_API_KEY",
    status: environment.OPENAI_API_KEY ? "ok" : "warn",
    // Never echo the key itself.
    detail: environment.OPENAI_API_KEY ? "set" : "not set (needed only for openai:<model> without @<url>)",
  });

  const specs = new Set(
    [context.config.models?.agent, context.config.models?.observer].filter((spec) => spec !== undefined),
  );
  if (specs.size === 0) {
    const cached = await findCachedHuggingFaceModelFile({
      uri: DEFAULT_AGENT_MODEL,
      cacheDirectory: context.cacheDirectory,
    });
    checks.push({
      name: "models",
      status: cached === undefined ? "warn" : "ok",
      detail:
        cached === undefined
          ? `none configured; default agent and observer ${DEFAULT_AGENT_MODEL}: not cached; downloads on first use (needs network)`
          : `none configured; default agent and observer ${DEFAULT_AGENT_MODEL}: cached at ${cached}`,
    });
  }
  for (const spec of specs) checks.push(...(await checkModelSpec({ spec, context, timeoutMs })));
  return checks;
}

/** The BLAS line: `warn` with the install command for the reference BLAS and for no native BLAS. */
export function checkBlas(engine: EngineDescription): DoctorCheck {
  return engine.blasWarning === undefined
    ? { name: "BLAS", status: "ok", detail: engine.blas }
    : { name: "BLAS", status: "warn", detail: `${engine.blas}; ${engine.blasWarning}` };
}

function checkCacheDirectory(directory: string): DoctorCheck {
  try {
    mkdirSync(directory, { recursive: true });
    accessSync(directory, constants.W_OK);
    return { name: "cache", status: "ok", detail: directory };
  } catch (error) {
    return {
      name: "cache",
      status: "fail",
      detail: `${directory} is not writable (${error instanceof Error ? error.message : String(error)}); set STABLE_ALIGNMENT_CACHE`,
    };
  }
}

async function checkModelSpec({
  spec,
  context,
  timeoutMs,
}: {
  spec: string;
  context: CliContext;
  timeoutMs: number;
}): Promise<DoctorCheck[]> {
  let parsed: ReturnType<typeof parseModelSpec>;
  try {
    parsed = parseModelSpec(spec);
  } catch (error) {
    return [{ name: `model ${spec}`, status: "fail", detail: error instanceof Error ? error.message : String(error) }];
  }
  if (parsed.provider === "hf") {
    const cached = await findCachedHuggingFaceModelFile({ uri: parsed.uri, cacheDirectory: context.cacheDirectory });
    return [
      cached === undefined
        ? { name: `model ${spec}`, status: "warn", detail: "not cached; downloads on first use (needs network)" }
        : { name: `model ${spec}`, status: "ok", detail: `cached at ${cached}` },
    ];
  }
  if (parsed.provider === "hf-checkpoint") {
    const cached = findCachedHuggingFaceCheckpoint({ ...parsed, cacheDirectory: context.cacheDirectory });
    return [
      cached === undefined
        ? { name: `model ${spec}`, status: "warn", detail: "not cached; downloads on first use (needs network)" }
        : { name: `model ${spec}`, status: "ok", detail: `cached at ${cached}` },
    ];
  }
  if (parsed.provider !== "openai") {
    try {
      checkModelsUsable({ specs: [spec], environment: context.environment });
    } catch (error) {
      return [
        { name: `model ${spec}`, status: "fail", detail: error instanceof Error ? error.message : String(error) },
      ];
    }
    return [{ name: `model ${spec}`, status: "ok", detail: `${parsed.provider} model` }];
  }
  const urls = parsed.baseURLs ?? [context.environment.OPENAI_BASE_URL ?? OPENAI_DEFAULT_BASE_URL];
  return Promise.all(
    urls.map(async (url): Promise<DoctorCheck> => {
      const name = `endpoint ${url}`;
      const apiKey = parsed.baseURLs === undefined ? context.environment.OPENAI_API_KEY : undefined;
      const probe = await probeEndpoint({ baseURL: url, ...(apiKey ? { apiKey } : {}), timeoutMs });
      if (!probe.answered) return { name, status: "fail", detail: `unreachable: ${probe.reason}` };
      if (probe.status < 200 || probe.status >= 300) {
        return { name, status: "fail", detail: `answered HTTP ${probe.status} to GET /models` };
      }
      return { name, status: "ok", detail: `reachable (GET /models: HTTP ${probe.status})` };
    }),
  );
}

/**
 * The PyTorch backend (`train --backend torch`): which Python has torch, its version, torchrun, the
 * CUDA devices with their memory and whether FSDP is usable. A warning, not a failure, when missing: the backend is optional.
 */
export function checkTorch({ python }: { python?: string } = {}): DoctorCheck {
  const found = findTorchPython(python === undefined ? {} : { python });
  if ("missing" in found)
    return { name: "torch", status: "warn", detail: `${found.missing} (needed only for train --backend torch)` };
  const devices =
    found.cudaDevices.length === 0
      ? "no CUDA devices"
      : found.cudaDevices.map((device) => `${device.name} ${(device.memoryBytes / 2 ** 30).toFixed(1)} GiB`).join(", ");
  const fsdp = !found.fsdp
    ? "FSDP cannot be imported (--fsdp needs torch >= 2.0)"
    : found.fsdpOriginalParameters
      ? "FSDP available"
      : "FSDP available without use_orig_params (no LoRA or weight decay with --fsdp)";
  return {
    name: "torch",
    status: "ok",
    detail: `${found.python} (Python ${found.pythonVersion}): torch ${found.torchVersion}, torchrun found, ${devices}, ${fsdp}`,
  };
}
