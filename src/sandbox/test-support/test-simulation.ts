/**
 * Runs a small simulation in a temporary directory for tests: scripted models by default, the built-in
 * lexical embedder, a generated prior and question pool. Everything can be replaced.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLexicalEmbedding } from "../../llm/lexical-embedding.js";
import type { UsageMeter } from "../../llm/middleware/usage-meter.js";
import { loadPromptTemplates, type PromptTemplates } from "../../llm/prompts/prompt-templates.js";
import type { EmbeddingModel } from "../../spec/embedding-model.js";
import type { InteractionRecord } from "../../spec/interaction-record.js";
import type { LanguageModel } from "../../spec/language-model.js";
import { openStore } from "../../store/open-store.js";
import { createScriptedModel } from "../../test-kit/scripted-model.js";
import { createPrior, type Prior } from "../prior-loader.js";
import { runSimulation, type SimulationEvent, type SimulationResult, type SimulationSchedule } from "../simulation.js";
import { resolveSimulationConfig, type SimulationConfig, type SimulationConfigInput } from "../simulation-config.js";
import { type SocietyAnswerOptions, societyAnswer } from "./scripted-society.js";

/** A prior of `count` questions, each with a good and a bad answer. */
export function generatedPrior(count = 6): Prior {
  const topics = ["gardening", "cooking", "taxes", "chess", "sleep", "running", "music", "travel", "money", "friends"];
  const entries = Array.from({ length: count }, (_, index) => {
    const question = `What should I know about ${topics[index % topics.length]} lesson ${index}?`;
    return [
      { question, answer: `A careful, kind answer ${index}.`, label: "good" as const },
      { question, answer: `A careless, rude answer ${index}.`, label: "bad" as const },
    ];
  }).flat();
  return createPrior({ source: "test:prior", entries });
}

/** `count` distinct questions. */
export function generatedQuestions(count = 9): string[] {
  return Array.from({ length: count }, (_, index) => `How do I handle situation number ${index} at work?`);
}

/** A scripted model that answers like a society (see scripted-society.ts). */
export function createSocietyModel({
  modelId = "scripted-agent",
  latencyMs = 0,
  answers = {},
}: {
  modelId?: string;
  latencyMs?: number;
  answers?: SocietyAnswerOptions;
} = {}) {
  return createScriptedModel({
    modelId,
    latencyMs,
    capabilities: { chat: true, completion: true, jsonSchema: false, grammar: false },
    respond: (request) => societyAnswer(request, answers),
  });
}

/** Options of {@link runTestSimulation}: any config input plus models and schedule. */
export interface TestSimulationOptions
  extends Partial<Omit<SimulationConfigInput, "questions" | "prompts" | "embedder">> {
  directory?: string;
  agentLanguageModels?: LanguageModel[];
  observer?: LanguageModel;
  embedder?: EmbeddingModel;
  questionPool?: string[];
  prompts?: PromptTemplates;
  schedule?: SimulationSchedule;
  onEvent?: (event: SimulationEvent) => void;
  signal?: AbortSignal;
  /** The meter of the given models: its usage rows go to the run's ledger, as the CLI wires it. */
  usageMeter?: UsageMeter;
}

/** What a test run left behind. */
export interface TestSimulationRun {
  directory: string;
  config: SimulationConfig;
  result: SimulationResult;
  records: InteractionRecord[];
}

/** Builds the config and runs (or resumes, with the same `directory`) a simulation. */
export async function runTestSimulation(options: TestSimulationOptions = {}): Promise<TestSimulationRun> {
  const directory = options.directory ?? mkdtempSync(join(tmpdir(), "sandbox-test-"));
  const agentLanguageModels = options.agentLanguageModels ?? [createSocietyModel()];
  const observer = options.observer ?? createSocietyModel({ modelId: "scripted-observer" });
  const embedder = options.embedder ?? createLexicalEmbedding();
  const prompts = options.prompts ?? loadPromptTemplates();
  const size = options.size ?? 3;
  const config = resolveSimulationConfig({
    size,
    setting: options.setting ?? "half_half",
    seed: options.seed ?? 7,
    rounds: options.rounds ?? 2,
    untilPlateau: options.untilPlateau ?? null,
    targets: options.targets ?? 4,
    global: options.global ?? false,
    dropout: options.dropout ?? 0.5,
    scoreOnly: options.scoreOnly ?? false,
    maxRatingAttempts: options.maxRatingAttempts ?? 3,
    ratingFormat: options.ratingFormat ?? "auto",
    ...(options.agentSampling === undefined ? {} : { agentSampling: options.agentSampling }),
    ...(options.observerSampling === undefined ? {} : { observerSampling: options.observerSampling }),
    ...(options.agentSystemPrompt === undefined ? {} : { agentSystemPrompt: options.agentSystemPrompt }),
    agentModels:
      options.agentModels ??
      agentLanguageModels.map((model) => ({ spec: model.modelId, weight: 1 / agentLanguageModels.length })),
    observerModel: observer.modelId,
    embedder: { modelId: embedder.modelId, distanceThreshold: embedder.defaultDistanceThreshold },
    priorSize: options.priorSize ?? 3,
    questions: { source: "test:questions", pool: options.questionPool ?? generatedQuestions(size * size) },
    prior: options.prior ?? generatedPrior(),
    prompts,
  });
  const store = openStore({ path: join(directory, "run.sqlite") });
  const stopRecording = options.usageMeter?.onUsage((entry) => store.recordUsage(entry));
  try {
    const result = await runSimulation({
      config,
      runDirectory: directory,
      database: store.database,
      agentModels: agentLanguageModels,
      observer,
      embedder,
      questions: options.questionPool ?? generatedQuestions(size * size),
      prior: options.prior ?? generatedPrior(),
      prompts,
      ...(options.schedule === undefined ? {} : { schedule: options.schedule }),
      ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    const records = readFileSync(result.recordsPath, "utf8")
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as InteractionRecord);
    return { directory, config, result, records };
  } finally {
    stopRecording?.();
    store.close();
  }
}
