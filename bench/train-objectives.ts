/**
 * `npm run bench -- train-objectives [--config small] [--objectives sft,stable-alignment,dpo] [--steps N]
 *   [--warmup N] [--rounds N] [--prompts-per-step N] [--threads 1,2] [--python PATH]`
 *
 * Tokens/s of one optimizer step of each training objective, ours (the trainer users run:
 * src/train/training-loop.ts runTraining, one prompt per micro-batch, `--prompts-per-step` prompts per
 * step, default 8 as the model card's gradient accumulation) against the same objectives written in
 * PyTorch (scripts/torch-train-throughput.py --objective: mean token NLL per response, SPEC 3's
 * formula with gaps against the best by rating, DPO's sigmoid loss with the start model as
 * reference) on the same prompts, in the same order, from the same weights (ours, written to a
 * safetensors file PyTorch loads). Data: random tokens, prompts of 64-127 tokens, three responses of
 * 24-95 tokens with distinct ratings in 1-7 (so Stable Alignment at num_comp 3 takes all three, DPO
 * best and worst, SFT the best). Tokens are sequence tokens (prompt + response, unpadded) of the
 * responses that enter the step, counted alike on both sides; a run's rate is the median over its timed
 * steps. Before timing, each objective's step 0 runs on both sides, which must agree on the parameter
 * count and the step-0 loss within 1e-4 nats (then every timed PyTorch run is checked again, with its
 * tokens per step): otherwise the bench stops naming both numbers. Each side runs at the best of its
 * thread settings (ours BLAS threads in `--threads`, default {1, 2}; PyTorch torch threads x OpenBLAS
 * threads in the same set), alternating for `rounds` rounds. One JSON line per objective with ours /
 * PyTorch (target >= 1.2), and the same at the best rate per CPU second of the whole process
 * (`perCpuSecond`), which other load on a shared machine distorts less than wall time.
 * Without Python or PyTorch it says what is missing and reports PyTorch as null. The first stderr line
 * names the engine's BLAS, as every training entry point does.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { describeEngine, formatEngineLine } from "../src/engine/index.js";
import { type LlamaPresetName, llamaPresets } from "../src/model/llama/index.js";
import { computeReferenceLogProbabilities, trainingOrder } from "../src/train/training-loop.js";
import {
  type BenchObjective,
  benchPrompts,
  initialModel,
  meanReferenceNll,
  measureOurs,
  OBJECTIVES,
  type Run,
  settingsFor,
  tokensPerStep,
} from "./support/objective-runs.js";
import {
  checkStepZero,
  runTorchSide,
  STEP_ZERO_TOLERANCE,
  type TorchRun,
  torchMissing,
  writeInitialWeights,
  writeTorchInputs,
} from "./support/torch-side.js";

function best(
  runs: readonly Run[],
  side: Run["side"],
  rate: "tokensPerSecond" | "tokensPerCpuSecond" = "tokensPerSecond",
): Run | undefined {
  return runs
    .filter((run) => run.side === side)
    .reduce<Run | undefined>(
      (winner, run) => (winner === undefined || run[rate] > winner[rate] ? run : winner),
      undefined,
    );
}

function wholeNumber(name: string, text: string, minimum: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < minimum) {
    throw new RangeError(`--${name} must be a whole number >= ${minimum}, got ${text}`);
  }
  return value;
}

export default async function trainObjectives(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: "string", default: "small" },
      objectives: { type: "string", default: OBJECTIVES.join(",") },
      steps: { type: "string", default: "3" },
      warmup: { type: "string", default: "1" },
      rounds: { type: "string", default: "1" },
      "prompts-per-step": { type: "string", default: "8" },
      threads: { type: "string", default: "1,2" },
      python: { type: "string", default: "/usr/bin/python3" },
    },
  });
  if (!(values.config in llamaPresets)) {
    throw new RangeError(`--config ${values.config} is no preset; presets: ${Object.keys(llamaPresets).join(", ")}`);
  }
  const preset = values.config as LlamaPresetName;
  const objectives = values.objectives.split(",").map((name) => {
    if (!(OBJECTIVES as readonly string[]).includes(name)) {
      throw new RangeError(`--objectives: ${name} is not one of ${OBJECTIVES.join(", ")}`);
    }
    return name as BenchObjective;
  });
  const steps = wholeNumber("steps", values.steps, 1);
  const warmup = wholeNumber("warmup", values.warmup, 0);
  const rounds = wholeNumber("rounds", values.rounds, 1);
  const promptsPerStep = wholeNumber("prompts-per-step", values["prompts-per-step"], 1);
  // Every training entry point names its BLAS first, with a warning when it makes training slow.
  process.stderr.write(`${formatEngineLine(describeEngine({ threads: 1 }))}\n`);
  const threadChoices = [
    ...new Set(
      values.threads.split(",").map((text) => Math.min(wholeNumber("threads", text, 1), availableParallelism())),
    ),
  ];
  const missing = torchMissing(values.python);
  if (missing !== undefined) process.stderr.write(`PyTorch side skipped: ${missing}\n`);

  const directory = mkdtempSync(join(tmpdir(), "bench-train-objectives-"));
  try {
    const initial = initialModel(preset);
    const weights = join(directory, "initial.safetensors");
    await writeInitialWeights({ model: initial, path: weights });
    const prompts = benchPrompts({
      count: promptsPerStep * (warmup + steps),
      vocabularySize: initial.config.vocabularySize,
    });
    for (const objective of objectives) {
      const settings = settingsFor({ objective, promptsPerStep });
      const order = trainingOrder({ prompts, settings });
      const expectedTokens = tokensPerStep({ prompts, order, settings, steps: warmup + steps });
      const references =
        objective === "dpo"
          ? computeReferenceLogProbabilities({ model: initial, prompts, maxLength: settings.maxLength })
          : undefined;
      const referenceMeanNll = references === undefined ? null : meanReferenceNll({ prompts, references, settings });
      const inputs = writeTorchInputs({ directory, inputs: { prompts, order, settings } });
      const torchArguments = (count: number, warm: number) => [
        "--objective",
        objective,
        "--steps",
        String(count),
        "--warmup",
        String(warm),
        "--learning-rate",
        String(settings.learningRate),
        "--weight-decay",
        String(settings.weightDecay),
      ];
      const what = `${preset} ${objective}`;
      const check = (run: TorchRun, ours: { parameters: number; firstLoss: number }, warm: number) => {
        checkStepZero({ what, ours, torch: run });
        // DPO's step-0 loss is log 2 whenever policy equals reference: the references check the forward pass.
        if (referenceMeanNll !== null) {
          const difference = Math.abs((run.referenceMeanNll ?? Number.NaN) - referenceMeanNll);
          if (!(difference <= STEP_ZERO_TOLERANCE)) {
            throw new Error(
              `${what}: reference mean token NLL differs: ours ${referenceMeanNll}, PyTorch ${run.referenceMeanNll} (|difference| ${difference} > ${STEP_ZERO_TOLERANCE})`,
            );
          }
        }
        const expected = expectedTokens.slice(warm, warm + run.stepTokens.length);
        if (JSON.stringify(run.stepTokens) !== JSON.stringify(expected)) {
          throw new Error(`${what}: PyTorch counted ${run.stepTokens} tokens per step, ours ${expected}`);
        }
      };
      // Before timing: step 0 on both sides must agree.
      const reference = await measureOurs({
        preset,
        settings,
        prompts,
        references,
        stepTokens: expectedTokens,
        steps: 1,
        warmup: 0,
        threads: 1,
      });
      let pytorchFirstLoss: number | null = null;
      let pytorchReferenceMeanNll: number | null = null;
      if (missing === undefined) {
        const probe = runTorchSide({
          python: values.python,
          config: llamaPresets[preset],
          weights,
          inputs,
          torchThreads: 1,
          blasThreads: 1,
          extraArguments: torchArguments(1, 0),
        });
        if (probe === undefined) throw new Error(`${what}: the PyTorch step-0 check run failed`);
        check(probe, reference, 0);
        pytorchFirstLoss = probe.firstLoss;
        pytorchReferenceMeanNll = probe.referenceMeanNll;
        process.stderr.write(
          `  ${what} step 0 agrees: ${reference.parameters} parameters, loss ours ${reference.firstLoss} PyTorch ${probe.firstLoss}\n`,
        );
      }
      const runs: Run[] = [];
      for (let round = 0; round < rounds; round += 1) {
        for (const threads of threadChoices) {
          const ours = await measureOurs({
            preset,
            settings,
            prompts,
            references,
            stepTokens: expectedTokens,
            steps,
            warmup,
            threads,
          });
          runs.push(ours);
          process.stderr.write(
            `  ${what} round ${round + 1} ours, BLAS threads ${threads}: ${ours.tokensPerSecond.toFixed(0)} tokens/s\n`,
          );
        }
        if (missing !== undefined) continue;
        for (const torchThreads of threadChoices) {
          for (const blasThreads of threadChoices) {
            const run = runTorchSide({
              python: values.python,
              config: llamaPresets[preset],
              weights,
              inputs,
              torchThreads,
              blasThreads,
              extraArguments: torchArguments(steps, warmup),
            });
            if (run === undefined) continue;
            check(run, reference, warmup);
            runs.push({
              side: "pytorch",
              tokensPerSecond: run.tokensPerSecond,
              tokensPerCpuSecond: run.tokensPerCpuSecond,
              torchThreads,
              blasThreads,
              torch: run.torch,
            });
            process.stderr.write(
              `  ${what} round ${round + 1} pytorch, torch threads ${torchThreads}, OpenBLAS threads ${blasThreads}: ${run.tokensPerSecond.toFixed(0)} tokens/s\n`,
            );
          }
        }
      }
      const ours = best(runs, "ours");
      const pytorch = best(runs, "pytorch");
      const oursCpu = best(runs, "ours", "tokensPerCpuSecond");
      const pytorchCpu = best(runs, "pytorch", "tokensPerCpuSecond");
      const timedTokens = expectedTokens.slice(warmup);
      console.log(
        JSON.stringify({
          bench: "train-objectives",
          config: preset,
          objective,
          numComp: settings.numComp,
          promptsPerStep,
          tokensPerStep: Math.round(timedTokens.reduce((sum, value) => sum + value, 0) / timedTokens.length),
          oursTokensPerSecond: ours === undefined ? null : Math.round(ours.tokensPerSecond),
          pytorchTokensPerSecond: pytorch === undefined ? null : Math.round(pytorch.tokensPerSecond),
          ratio:
            ours === undefined || pytorch === undefined
              ? null
              : Number((ours.tokensPerSecond / pytorch.tokensPerSecond).toFixed(3)),
          target: 1.2,
          perCpuSecond:
            oursCpu === undefined || pytorchCpu === undefined
              ? null
              : {
                  ours: Math.round(oursCpu.tokensPerCpuSecond),
                  pytorch: Math.round(pytorchCpu.tokensPerCpuSecond),
                  ratio: Number((oursCpu.tokensPerCpuSecond / pytorchCpu.tokensPerCpuSecond).toFixed(3)),
                },
          stepZero: {
            parameters: reference.parameters,
            oursLoss: reference.firstLoss,
            pytorchLoss: pytorchFirstLoss,
            ...(referenceMeanNll === null
              ? {}
              : { oursReferenceMeanNll: referenceMeanNll, pytorchReferenceMeanNll: pytorchReferenceMeanNll }),
            tolerance: STEP_ZERO_TOLERANCE,
          },
          ours: ours === undefined ? null : { blasThreads: ours.blasThreads },
          pytorch:
            pytorch === undefined
              ? { missing: missing ?? "every PyTorch run failed" }
              : { torch: pytorch.torch, torchThreads: pytorch.torchThreads, blasThreads: pytorch.blasThreads },
          runs: runs.map((run) => ({
            side: run.side,
            blasThreads: run.blasThreads,
            torchThreads: run.torchThreads,
            tokensPerSecond: Math.round(run.tokensPerSecond),
            tokensPerCpuSecond: Math.round(run.tokensPerCpuSecond),
          })),
        }),
      );
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}
