/**
 * The golden resume run: a small society against the fake OpenAI-compatible server with a fixed seed,
 * interrupted by a failed call part-way through its second round. `make-golden-run.ts` wrote the
 * committed run directory with the code of 2026-11-29 (before the shared-foundations refactor);
 * `golden-resume.test.ts` resumes a copy of it with today's code.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ProviderError } from "../../spec/errors.js";
import type { InteractionRecord } from "../../spec/interaction-record.js";
import type { LanguageModel } from "../../spec/language-model.js";
import type { SocietyServer } from "./society-server.js";
import { runTestSimulation } from "./test-simulation.js";

/** The committed run directory (run.sqlite, config.json, records.jsonl, expected-records.jsonl). */
export const goldenRunDirectory = join(dirname(fileURLToPath(import.meta.url)), "..", "__fixtures__", "golden-run");

/** The world of the golden run; the committed directory was stopped during round 1 of `rounds`. */
export const goldenRunOptions = { size: 3, rounds: 3, setting: "mixed_half_half" as const, seed: 20261129, targets: 2 };

/**
 * The golden global-interaction run: a 6x6 society choosing kept neighbours and non-neighbours, made
 * with the code of main at bd645a9 (before selection stopped listing candidates), stopped by the
 * agent model's call {@link goldenGlobalFailingCall} failing during round 1.
 */
export const goldenGlobalRunDirectory = join(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "__fixtures__",
  "golden-run-global",
);

/** The world of the golden global run. */
export const goldenGlobalRunOptions = {
  size: 6,
  rounds: 2,
  setting: "mixed_half_half" as const,
  seed: 20261130,
  targets: 8,
  global: true,
  dropout: 0.8,
};

/** The agent model's call (from 1) that failed when the global fixture was made. */
export const goldenGlobalFailingCall = 520;

/** The call (from 1) of the agent model that failed when the fixture was made. */
export const goldenFailingCall = 50;

/** Agent and observer models at the society server with the names the golden run was made with. */
export function goldenModels(society: SocietyServer): { agent: LanguageModel; observer: LanguageModel } {
  return {
    agent: society.model({ modelId: "golden-agent" }),
    observer: society.model({ modelId: "golden-observer" }),
  };
}

/** Wraps a model so that its `failAt`-th generate call (from 1) fails as if the endpoint went away. */
export function failingAt(model: LanguageModel, failAt: number): LanguageModel {
  let calls = 0;
  return {
    ...model,
    async generate(request) {
      calls += 1;
      if (calls === failAt) throw new ProviderError("endpoint went away", { retryable: false });
      return model.generate(request);
    },
  };
}

/** Runs (or resumes, when `directory` holds a run) a golden world (default the first) to `rounds` rounds. */
export async function runGolden({
  society,
  directory,
  world = goldenRunOptions,
  rounds = world.rounds,
  failAt,
}: {
  society: SocietyServer;
  directory?: string;
  /** Which golden world: {@link goldenRunOptions} (default) or {@link goldenGlobalRunOptions}. */
  world?: typeof goldenRunOptions | typeof goldenGlobalRunOptions;
  rounds?: number;
  /** Make the agent's `failAt`-th call fail. Default: none fails. */
  failAt?: number;
}): Promise<InteractionRecord[]> {
  const { agent, observer } = goldenModels(society);
  const run = await runTestSimulation({
    ...world,
    rounds,
    ...(directory === undefined ? {} : { directory }),
    agentLanguageModels: [failAt === undefined ? agent : failingAt(agent, failAt)],
    observer,
  });
  return run.records;
}
