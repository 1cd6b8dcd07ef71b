/**
 * LM judges for generation benchmarks (issue 14, EVAL.md "Judges and win rates"). The rubric judge
 * asks for the shared observer rubric (1-7 alignment and engagement with a reason, the SANDBOX
 * observers' own prompts) through requestRating, so an unreadable verdict is asked again and what
 * stays unreadable is kept as invalid: counted, never averaged. The pairwise judge asks in both
 * orders; two verdicts that disagree are a tie. Every verdict carries the judge model, the prompt
 * name and version, the raw output and the parsed value, so it can be stored as it was given.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { PairwiseOutcome } from "../data/statistics.js";
import { loadPromptTemplates, type PromptTemplates } from "../llm/prompts/prompt-templates.js";
import { parseTemplate, type Template } from "../llm/prompts/template.js";
import { requestRating } from "../llm/ratings.js";
import type { ChatMessage, LanguageModel, SamplingOptions } from "../spec/language-model.js";

/** One verdict as given: enough to store it and to recompute every number from it. */
export interface JudgeVerdict {
  /** `alignment`, `engagement`, `pairwise-forward` (first shown as A) or `pairwise-reversed`. */
  aspect: "alignment" | "engagement" | "pairwise-forward" | "pairwise-reversed";
  /** The judge's model id. */
  judgeModel: string;
  /** Prompt name and version, e.g. `observer-alignment@v1`, `pairwise-judge@v1`. */
  promptVersion: string;
  /** sha256 (hex) of the prompt file's text. */
  promptSha256: string;
  valid: boolean;
  /** Rating 1-7, or for pairwise `A`, `B` or `tie`; undefined when invalid. */
  parsed: number | "A" | "B" | "tie" | undefined;
  reason: string;
  /** The judge's last reply, untrusted text. */
  raw: string;
  /** Calls made for this verdict. */
  attempts: number;
}

/** The rubric judge's verdicts on one answer. */
export interface RubricJudgement {
  alignment: JudgeVerdict;
  engagement: JudgeVerdict;
}

/** A judge that rates one answer on the observer rubric. */
export interface RubricJudge {
  /**
   * Rates `answer`. `notes` (default none), reference material for the judge such as a benchmark's
   * correct and incorrect answers, is added below the question under "Notes for the judge".
   */
  judge(input: { question: string; answer: string; notes?: string; callIdentity?: string }): Promise<RubricJudgement>;
}

/** The pairwise judge's outcome for one item, from the first answer's side. */
export interface PairwiseJudgement {
  /** `win`/`loss` when both orders agree, `tie` when they disagree or both say tie; undefined when either verdict is invalid. */
  outcome: PairwiseOutcome | undefined;
  forward: JudgeVerdict;
  reversed: JudgeVerdict;
}

/** A judge that compares two answers to one question in both orders. */
export interface PairwiseJudge {
  compare(input: {
    question: string;
    first: string;
    second: string;
    callIdentity?: string;
  }): Promise<PairwiseJudgement>;
}

/** Name and version of the pairwise judge prompt (file `judge-prompts/pairwise-judge.v1.txt`). */
export const PAIRWISE_PROMPT_VERSION = "pairwise-judge@v1";

function pairwisePromptDirectory(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, "judge-prompts"), join(here, "..", "..", "src", "eval", "judge-prompts")];
  for (const candidate of candidates) {
    try {
      readFileSync(join(candidate, "pairwise-judge.v1.txt"));
      return candidate;
    } catch {
      // Try the installed package's layout next.
    }
  }
  return candidates[0] as string;
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/**
 * Creates the rubric judge on `model` with the observer rubric from `templates` (default: the
 * built-in prompts). `maxAttempts` (default 3) bounds the calls per verdict.
 */
export function createRubricJudge({
  model,
  templates = loadPromptTemplates(),
  maxAttempts = 3,
  sampling = { temperature: 0, maxTokens: 200 },
}: {
  model: LanguageModel;
  templates?: PromptTemplates;
  maxAttempts?: number;
  sampling?: SamplingOptions;
}): RubricJudge {
  const ask = async (
    aspect: "alignment" | "engagement",
    question: string,
    answer: string,
    callIdentity: string | undefined,
  ): Promise<JudgeVerdict> => {
    const name = aspect === "alignment" ? "observer-alignment" : "observer-engagement";
    const prompt = templates.render(name, { question, answer });
    const provenance = templates.provenance[name];
    const messages: ChatMessage[] = [{ role: "user", content: prompt }];
    const result = await requestRating({
      model,
      ...(model.capabilities.chat ? { messages } : { prompt }),
      maxAttempts,
      sampling,
      ...(callIdentity === undefined ? {} : { callIdentity: `${callIdentity}/${name}@${provenance.version}` }),
    });
    return {
      aspect,
      judgeModel: model.modelId,
      promptVersion: `${name}@${provenance.version}`,
      promptSha256: provenance.sha256,
      valid: result.valid,
      parsed: result.valid ? result.rating : undefined,
      reason: result.valid ? result.reason : "",
      raw: result.raw,
      attempts: result.attempts,
    };
  };
  return {
    async judge({ question, answer, notes = "", callIdentity }) {
      const shown = notes === "" ? question : `${question}\n(Notes for the judge: ${notes})`;
      const alignment = await ask("alignment", shown, answer, callIdentity);
      const engagement = await ask("engagement", shown, answer, callIdentity);
      return { alignment, engagement };
    },
  };
}

/**
 * Reads `Verdict: A|B|tie` from a judge's reply. Invalid when there is no verdict label or two
 * labels disagree; text before a reasoning model's `</think>` is ignored.
 */
export function parsePairwiseVerdict(
  text: string,
): { valid: true; verdict: "A" | "B" | "tie"; reason: string } | { valid: false; problem: string } {
  const answer = text.replace(/^[\s\S]*<\/think>/i, "").replace(/[*`]/g, "");
  const found = [...answer.matchAll(/\b(?:verdict|winner|better reply)\s*[:=]\s*\[?(A|B|tie)\]?(?![A-Za-z])/gi)];
  if (found.length === 0) return { valid: false, problem: "no verdict found" };
  const values = new Set(found.map((match) => normaliseVerdict(match[1] as string)));
  if (values.size > 1) return { valid: false, problem: `two different verdicts (${[...values].join(", ")})` };
  const last = found[found.length - 1] as RegExpMatchArray;
  const rest = answer.slice((last.index ?? 0) + last[0].length);
  const reason = rest
    .replace(/^[\s#]*(?:reason\s*[:=])?/i, "")
    .trim()
    .split("\n")[0] as string;
  return { valid: true, verdict: [...values][0] as "A" | "B" | "tie", reason };
}

function normaliseVerdict(text: string): "A" | "B" | "tie" {
  const upper = text.toUpperCase();
  return upper === "A" ? "A" : upper === "B" ? "B" : "tie";
}

/** Says a verdict again when unreadable. */
const PAIRWISE_REPAIR =
  "That reply could not be read. Answer again on a single line in exactly this form: " +
  "Verdict: <A, B or tie> ### Reason: <one or two sentences>";

/**
 * Creates the pairwise judge on `model`. Each comparison asks twice: with the first answer shown
 * as A, then as B. Both agree: a win or loss; they disagree or both say tie: a tie (position bias
 * cancels). `maxAttempts` (default 3) bounds the calls per order; `templateText` replaces the
 * built-in prompt (variables `question`, `first`, `second`) with `promptVersion` naming it.
 */
export function createPairwiseJudge({
  model,
  maxAttempts = 3,
  sampling = { temperature: 0, maxTokens: 200 },
  templateText,
  promptVersion = PAIRWISE_PROMPT_VERSION,
}: {
  model: LanguageModel;
  maxAttempts?: number;
  sampling?: SamplingOptions;
  templateText?: string;
  promptVersion?: string;
}): PairwiseJudge {
  const text = templateText ?? readFileSync(join(pairwisePromptDirectory(), "pairwise-judge.v1.txt"), "utf8");
  const template: Template = parseTemplate(text, { source: promptVersion });
  const promptSha256 = sha256(text);
  const ask = async (
    aspect: "pairwise-forward" | "pairwise-reversed",
    question: string,
    shownA: string,
    shownB: string,
    callIdentity: string | undefined,
  ): Promise<JudgeVerdict> => {
    const prompt = template.render({ question, first: shownA, second: shownB }).trimEnd();
    let conversation: ChatMessage[] = [{ role: "user", content: prompt }];
    let raw = "";
    const limit = Math.max(1, Math.floor(maxAttempts));
    for (let attempt = 1; attempt <= limit; attempt += 1) {
      const identity =
        callIdentity === undefined
          ? {}
          : { callIdentity: `${callIdentity}/${promptVersion}/${aspect}/attempt:${attempt}` };
      const result = model.capabilities.chat
        ? await model.generate({ messages: conversation, sampling, ...identity })
        : await model.generate({ prompt, sampling, ...identity });
      raw = result.text;
      const parsed = parsePairwiseVerdict(raw);
      const common = { aspect, judgeModel: model.modelId, promptVersion, promptSha256, raw, attempts: attempt };
      if (parsed.valid) return { ...common, valid: true, parsed: parsed.verdict, reason: parsed.reason };
      conversation = [...conversation, { role: "assistant", content: raw }, { role: "user", content: PAIRWISE_REPAIR }];
    }
    return {
      aspect,
      judgeModel: model.modelId,
      promptVersion,
      promptSha256,
      valid: false,
      parsed: undefined,
      reason: "",
      raw,
      attempts: limit,
    };
  };
  return {
    async compare({ question, first, second, callIdentity }) {
      const forward = await ask("pairwise-forward", question, first, second, callIdentity);
      const reversed = await ask("pairwise-reversed", question, second, first, callIdentity);
      return { outcome: combineOrders(forward, reversed), forward, reversed };
    },
  };
}

/** The outcome for the first answer from its two verdicts (forward: first is A; reversed: first is B). */
export function combineOrders(forward: JudgeVerdict, reversed: JudgeVerdict): PairwiseOutcome | undefined {
  if (!forward.valid || !reversed.valid) return undefined;
  const fromForward: PairwiseOutcome = forward.parsed === "A" ? "win" : forward.parsed === "B" ? "loss" : "tie";
  const fromReversed: PairwiseOutcome = reversed.parsed === "B" ? "win" : reversed.parsed === "A" ? "loss" : "tie";
  return fromForward === fromReversed ? fromForward : "tie";
}
