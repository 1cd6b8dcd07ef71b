/**
 * The local path for real: a 3x3, 2-round society on an in-process GGUF written by the test, with
 * ratings constrained by a GBNF grammar, so every rating the model gives is readable.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLlamaCppModel, type LlamaCppModel } from "../llm/llama-cpp-model.js";
import type { GenerateRequest, LanguageModel } from "../spec/language-model.js";
import { writeTinyByteModel } from "../test-kit/tiny-gguf-model.js";
import { runTestSimulation } from "./test-support/test-simulation.js";

let model: LlamaCppModel;

beforeAll(async () => {
  const modelPath = await writeTinyByteModel({ path: join(mkdtempSync(join(tmpdir(), "sandbox-gguf-")), "tiny.gguf") });
  // threads: 1 always on this two-core machine; a small context keeps the KV cache small.
  model = await createLlamaCppModel({ modelPath, threads: 1, gpu: false, contextSize: 2048, parallelSequences: 4 });
});
afterAll(async () => {
  await model?.close();
});

describe("simulation on an in-process GGUF", () => {
  it("completes a 3x3, 2-round run with grammar-constrained ratings, valid in every step", {
    timeout: 300_000,
  }, async () => {
    const requests: GenerateRequest[] = [];
    const recording: LanguageModel = {
      ...model,
      generate: (request) => {
        requests.push(request);
        return model.generate(request);
      },
    };
    const run = await runTestSimulation({
      size: 3,
      rounds: 2,
      agentLanguageModels: [recording],
      observer: recording,
      agentSampling: { temperature: 1, maxTokens: 16 },
      // `Rating: N ### Reason: ` is 22 byte tokens; a few more make a reason.
      observerSampling: { temperature: 1, maxTokens: 32 },
    });
    expect(model.capabilities.grammar).toBe(true);
    const ratingRequests = requests.filter((request) => request.responseFormat !== undefined);
    expect(ratingRequests.length).toBeGreaterThan(0);
    for (const request of ratingRequests) expect(request.responseFormat?.type).toBe("grammar");
    expect(requests.every((request) => (request.sampling?.maxTokens ?? 0) <= 32)).toBe(true);
    expect(run.records).toHaveLength(18);
    for (const record of run.records) {
      for (const score of [
        record.gen_moral_score_before,
        record.gen_engagement_score_before,
        record.gen_moral_score_after,
        record.gen_engagement_score_after,
      ]) {
        expect(score).toBeGreaterThanOrEqual(1);
        expect(score).toBeLessThanOrEqual(7);
      }
      expect(record.rating.filter((rating) => rating !== null).length).toBeGreaterThanOrEqual(1);
      expect(record.mean_rating).not.toBeNull();
    }
  });
});
