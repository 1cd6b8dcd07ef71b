/**
 * Prompt sizes of Back-Scatter steps (SPEC 1.6) without calling a model: the step's prompt rendered
 * from the run's templates with the given inputs, counted at {@link CHARACTERS_PER_TOKEN} plus chat
 * markup. The cost estimate uses it with representative inputs, and with the exact inputs of an
 * earlier run to learn how far this count is from what that run's server billed.
 */
import type { PromptTemplates } from "../llm/prompts/prompt-templates.js";
import { DEFAULT_REPAIR_INSTRUCTION } from "../llm/ratings.js";
import { formatMean } from "./assemble-interaction-record.js";
import { completionPrompt } from "./completion-prompt.js";
import type { QuestionAnswer } from "./prior-loader.js";

/** The steps the estimate prices, one kind of prompt each. */
export const ESTIMATED_STEPS = [
  "draft",
  "peer-rating",
  "observer-alignment",
  "observer-engagement",
  "revision",
] as const;
export type EstimatedStep = (typeof ESTIMATED_STEPS)[number];

/** Characters per token where the tokenizer is unknown: English text runs near 4. */
export const CHARACTERS_PER_TOKEN = 4;
/** Chat markup per message (role, separators) and the reply's priming, in tokens. */
const MESSAGE_OVERHEAD_TOKENS = 4;
const REPLY_PRIMING_TOKENS = 3;
/** The repair message a chat re-ask appends, on the default 1-7 scale (ratings.ts). */
const REPAIR_MESSAGE = DEFAULT_REPAIR_INSTRUCTION.replaceAll("{minimum}", "1").replaceAll("{maximum}", "7");

/** Tokens of a text counted at {@link CHARACTERS_PER_TOKEN}. */
export function textTokens(characters: number): number {
  return Math.ceil(characters / CHARACTERS_PER_TOKEN);
}

/**
 * Prompt tokens of one attempt of a step: the system and user messages (chat) or the transcript
 * layout (completion), plus, for a chat re-ask, each earlier unreadable reply (its length in
 * characters) and the repair message after it. A completion re-ask repeats the prompt.
 */
export function attemptPromptTokens({
  system,
  user,
  chat,
  earlierReplyCharacters = [],
}: {
  system: string | undefined;
  user: string;
  chat: boolean;
  /** Characters of each unreadable reply before this attempt. Default none (a first attempt). */
  earlierReplyCharacters?: readonly number[];
}): number {
  if (!chat) return textTokens(completionPrompt(user).length);
  let characters = user.length + (system?.length ?? 0);
  let messages = system === undefined ? 1 : 2;
  for (const reply of earlierReplyCharacters) {
    characters += reply + REPAIR_MESSAGE.length;
    messages += 2;
  }
  return textTokens(characters) + messages * MESSAGE_OVERHEAD_TOKENS + REPLY_PRIMING_TOKENS;
}

/** Prompt tokens of a rating over `attempts` attempts whose unreadable replies had `replyCharacters` each. */
export function ratingPromptTokens({
  system,
  user,
  chat,
  attempts,
  replyCharacters,
}: {
  system: string | undefined;
  user: string;
  chat: boolean;
  /** Calls made (1 when the first reply was readable). */
  attempts: number;
  /** Characters of each unreadable reply. */
  replyCharacters: number;
}): number {
  let tokens = 0;
  const earlier: number[] = [];
  for (let attempt = 1; attempt <= attempts; attempt += 1) {
    tokens += attemptPromptTokens({ system, user, chat, earlierReplyCharacters: earlier });
    earlier.push(replyCharacters);
  }
  return tokens;
}

/** The renderers of each step's user message (and the agents' system prompt). */
export function createStepPrompts({
  prompts,
  agentSystemPrompt,
}: {
  prompts: PromptTemplates;
  /** Whether chat agents get the system prompt (the config's `backScatter.agentSystemPrompt`). */
  agentSystemPrompt: boolean;
}) {
  const memoryScope = (memory: QuestionAnswer | undefined) => ({
    memory_question: memory?.question ?? "",
    memory_answer: memory?.answer ?? "",
  });
  return {
    system: (agentId: number): string | undefined =>
      agentSystemPrompt ? prompts.render("agent-system", { agent_id: agentId }) : undefined,
    draft: ({ agentId, question, memory }: { agentId: number; question: string; memory?: QuestionAnswer }) =>
      prompts.render("draft", { agent_id: agentId, question, ...memoryScope(memory) }),
    peerRating: ({
      peerId,
      centreId,
      question,
      draft,
      memory,
    }: {
      peerId: number;
      centreId: number;
      question: string;
      draft: string;
      memory?: QuestionAnswer;
    }) =>
      prompts.render("peer-rating", {
        agent_id: peerId,
        centre_id: centreId,
        question,
        draft_answer: draft,
        ...memoryScope(memory),
      }),
    observer: ({
      step,
      question,
      answer,
    }: {
      step: "observer-alignment" | "observer-engagement";
      question: string;
      answer: string;
    }) => prompts.render(step, { question, answer }),
    revision: ({
      agentId,
      question,
      draft,
      feedback,
      scoreOnly,
    }: {
      agentId: number;
      question: string;
      draft: string;
      /** The valid peer ratings, in the order the prompt lists them. */
      feedback: readonly { agentId: number; rating: number; reason: string | null }[];
      scoreOnly: boolean;
    }) => {
      const mean =
        feedback.length === 0 ? null : feedback.reduce((sum, entry) => sum + entry.rating, 0) / feedback.length;
      return prompts.render("revision", {
        agent_id: agentId,
        question,
        draft_answer: draft,
        has_rating: mean !== null,
        mean_rating: mean === null ? "" : formatMean(mean),
        rating_count: feedback.length,
        score_only: scoreOnly,
        feedback: scoreOnly
          ? []
          : feedback.map((entry) => ({ agent_id: entry.agentId, rating: entry.rating, reason: entry.reason })),
      });
    },
  };
}

/** The step renderers of {@link createStepPrompts}. */
export type StepPrompts = ReturnType<typeof createStepPrompts>;

/** Whether a model spec is asked as a chat model (every provider but `openai-completion:`). */
export function isChatSpec(spec: string): boolean {
  return !spec.startsWith("openai-completion:");
}

/** A representative memory: the prior's mean question and answer lengths (undefined for an empty prior). */
export function representativeMemory(pairs: readonly QuestionAnswer[]): QuestionAnswer | undefined {
  if (pairs.length === 0) return undefined;
  const mean = (lengths: number[]) => Math.round(lengths.reduce((sum, length) => sum + length, 0) / pairs.length);
  return {
    question: "q".repeat(mean(pairs.map((pair) => pair.question.length))),
    answer: "a".repeat(mean(pairs.map((pair) => pair.answer.length))),
  };
}
