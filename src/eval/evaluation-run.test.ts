/**
 * A stopped run continues with no model call repeated, and the recomputed report of the continued
 * run equals that of a run never stopped, byte for byte. Real SQLite in a temporary directory; the
 * model is a scorer double at the LM boundary that counts every continuation it is asked for.
 */
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CancelledError, ConfigError, EvaluationIncompleteError } from "../spec/errors.js";
import type { ScoreRequest, ScoreResult, Scorer } from "../spec/scoring.js";
import { createEvaluationRepository, type EvaluationRepository } from "../store/evaluation-repository.js";
import { openStore, type Store } from "../store/open-store.js";
import type { BenchmarkName } from "./benchmarks.js";
import { buildEvaluationReport, formatReportJson, formatReportMarkdown } from "./evaluation-report.js";
import { type EvaluationConfig, runEvaluation } from "./evaluation-run.js";

let directory: string;
const data: Partial<Record<BenchmarkName, string>> = {};
const stores: Store[] = [];

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "eval-run-"));
  const questions = Array.from({ length: 6 }, (_, index) => ({
    question: `Question ${index}?`,
    mc1_targets: { [`True ${index}.`]: 1, [`False ${index}.`]: 0 },
    mc2_targets: { [`True ${index}.`]: 1, [`Also true ${index}.`]: 1, [`False ${index}.`]: 0 },
  }));
  data.truthfulqa = join(directory, "mc_task.json");
  await writeFile(data.truthfulqa, JSON.stringify(questions));
  data["hh-harmless"] = join(directory, "hh.jsonl");
  const pairs = Array.from({ length: 5 }, (_, index) => ({
    chosen: `\n\nHuman: q${index}\n\nAssistant: safe ${index}`,
    rejected: `\n\nHuman: q${index}\n\nAssistant: harmful ${index}`,
  }));
  await writeFile(data["hh-harmless"], pairs.map((pair) => JSON.stringify(pair)).join("\n"));
  await mkdir(join(directory, "runs"));
});
afterAll(async () => {
  for (const store of stores) store.close();
  await rm(directory, { recursive: true, force: true });
});

/** A deterministic scorer double: each continuation's score is a function of its text and context. */
function countingScorer({ onCall }: { onCall?: (calls: number) => void } = {}): Scorer & { asked: string[] } {
  const asked: string[] = [];
  let calls = 0;
  return {
    asked,
    async score(request: ScoreRequest): Promise<ScoreResult> {
      calls += 1;
      onCall?.(calls);
      await new Promise((resolve) => setTimeout(resolve, 1));
      const scores = request.continuations.map((continuation) => {
        asked.push(`${request.context}|${continuation}`);
        const digest = createHash("sha256").update(`${request.context}|${continuation}`).digest();
        const value = -((digest.readUInt16BE(0) % 500) / 100) - 0.01;
        return { valid: true as const, logProbability: value, tokenLogProbabilities: [value], tokenCount: 1 };
      });
      return { scores, usage: { promptTokens: 1, completionTokens: 0 }, modelId: "double" };
    },
  };
}

function repositoryIn(name: string): EvaluationRepository {
  const store = openStore({ path: join(directory, "runs", name, "run.sqlite") });
  stores.push(store);
  return createEvaluationRepository({ database: store.database });
}

const config: EvaluationConfig = {
  models: ["model-a", "model-b"],
  benchmarks: ["truthfulqa", "hh-harmless"],
  split: "test",
  limit: null,
  seed: 3,
};
const resolveData = async (benchmark: BenchmarkName): Promise<string> => data[benchmark] as string;

async function report(repository: EvaluationRepository): Promise<{ markdown: string; json: string }> {
  const built = await buildEvaluationReport({ main: { repository, suffix: "" } });
  return { markdown: formatReportMarkdown(built), json: formatReportJson(built) };
}

describe("evaluation run", () => {
  it("a stopped run continues with zero repeated model calls and the same report, byte for byte", async () => {
    const whole = repositoryIn("whole");
    const wholeScorers = new Map(config.models.map((model) => [model, countingScorer()]));
    await runEvaluation({ repository: whole, config, scorers: wholeScorers, resolveData });
    const expected = await report(whole);
    const totalAsked = [...wholeScorers.values()].reduce((sum, scorer) => sum + scorer.asked.length, 0);

    const stopped = repositoryIn("stopped");
    const controller = new AbortController();
    const first = new Map(
      config.models.map((model) => [model, countingScorer({ onCall: (calls) => calls === 5 && controller.abort() })]),
    );
    await expect(
      runEvaluation({ repository: stopped, config, scorers: first, resolveData, signal: controller.signal }),
    ).rejects.toThrow(CancelledError);
    expect(stopped.findRun("evaluation")?.status).toBe("stopped");
    // The report refuses an unfinished run in one line.
    await expect(report(stopped)).rejects.toThrow(EvaluationIncompleteError);

    const second = new Map(config.models.map((model) => [model, countingScorer()]));
    await runEvaluation({ repository: stopped, config, scorers: second, resolveData });
    const asked = [...first.values(), ...second.values()].flatMap((scorer) => scorer.asked);
    const perModel = config.models.map((model) => [
      ...(first.get(model)?.asked ?? []),
      ...(second.get(model)?.asked ?? []),
    ]);
    for (const list of perModel) expect(new Set(list).size).toBe(list.length);
    expect(asked.length).toBe(totalAsked);
    expect((first.get("model-a")?.asked.length ?? 0) > 0).toBe(true);
    expect(stopped.findRun("evaluation")?.status).toBe("finished");

    const resumed = await report(stopped);
    expect(resumed.markdown).toBe(expected.markdown);
    expect(resumed.json).toBe(expected.json);
    // A third run asks nothing at all.
    const third = new Map(config.models.map((model) => [model, countingScorer()]));
    await runEvaluation({ repository: stopped, config, scorers: third, resolveData });
    expect([...third.values()].every((scorer) => scorer.asked.length === 0)).toBe(true);
    // --compare: the other run's models join the table, paired with the first model on the same items.
    const compared = await buildEvaluationReport({
      main: { repository: whole, suffix: "" },
      compare: { repository: stopped, suffix: " [compare]" },
    });
    const truthful = compared.benchmarks.find((benchmark) => benchmark.name === "truthfulqa");
    expect(truthful?.models.map((model) => model.model)).toEqual([
      "model-a",
      "model-b",
      "model-a [compare]",
      "model-b [compare]",
    ]);
    const sameModel = truthful?.differences.filter((difference) => difference.model === "model-a [compare]");
    expect(sameModel?.map((difference) => [difference.metric, difference.value, difference.count])).toEqual([
      ["mc1", 0, 6],
      ["mc2", 0, 6],
    ]);
    // The report's body names its tables and holds the paired differences of the two models.
    expect(expected.markdown).toContain("SELECT item_id FROM eval_items WHERE benchmark = 'truthfulqa'");
    expect(expected.markdown).toContain("| model-b | model-a | mc2 |");
    expect(expected.markdown).not.toMatch(/20\d\d-\d\d-\d\d/);
  });

  it("a rerun with other flags is refused naming the flag", async () => {
    const repository = repositoryIn("flags");
    await runEvaluation({
      repository,
      config: { ...config, models: ["model-a"], benchmarks: ["hh-harmless"] },
      scorers: new Map([["model-a", countingScorer()]]),
      resolveData,
    });
    await expect(
      runEvaluation({
        repository,
        config: { ...config, models: ["model-a"], benchmarks: ["hh-harmless"], limit: 2 },
        scorers: new Map([["model-a", countingScorer()]]),
        resolveData,
      }),
    ).rejects.toThrow(ConfigError);
  });

  it("paired differences and metrics match hand-computed values", async () => {
    // Two models on hh-harmless with fixed per-item outcomes: a gets items 1,2,3 right; b gets 1,2.
    const repository = repositoryIn("paired");
    const outcome: Record<string, number[]> = { "model-a": [1, 1, 1, 0, 0], "model-b": [1, 1, 0, 0, 0] };
    const scorerFor = (model: string): Scorer => ({
      async score(request) {
        const index = Number(/q(\d)/.exec(request.context)?.[1]);
        const right = outcome[model]?.[index] === 1;
        const scores = request.continuations.map((continuation) => {
          const value = continuation.startsWith(" safe") === right ? -1 : -2;
          return { valid: true as const, logProbability: value, tokenLogProbabilities: [value], tokenCount: 1 };
        });
        return { scores, usage: { promptTokens: 1, completionTokens: 0 }, modelId: model };
      },
    });
    const paired: EvaluationConfig = { ...config, benchmarks: ["hh-harmless"] };
    await runEvaluation({
      repository,
      config: paired,
      scorers: new Map(paired.models.map((model) => [model, scorerFor(model)])),
      resolveData,
    });
    const built = await buildEvaluationReport({ main: { repository, suffix: "" } });
    const section = built.benchmarks[0];
    expect(section?.models.map((model) => model.metrics[0]?.value)).toEqual([0.6, 0.4]);
    expect(section?.models[0]?.metrics[0]?.units).toEqual(["line-1", "line-2", "line-3", "line-4", "line-5"]);
    const difference = section?.differences[0];
    expect(difference?.value).toBeCloseTo(-0.2, 12);
    expect(difference?.count).toBe(5);
    // Per-item differences are 0,0,-1,0,0: every resample's mean lies in [-1, 0].
    expect(difference?.lower).toBeGreaterThanOrEqual(-1);
    expect(difference?.upper).toBeLessThanOrEqual(0);
  });
});
