/**
 * Renders chat messages into a prompt with the model's Jinja chat template (the same templates
 * Hugging Face transformers renders), using `@huggingface/jinja`.
 */
import { Template } from "@huggingface/jinja";
import type { ChatMessage } from "../../spec/language-model.js";

const compiled = new Map<string, Template>();

/**
 * The prompt text for `messages`. `addGenerationPrompt` (default true) appends the assistant turn
 * opener so the model answers. `specialTokens` supplies `bos_token`, `eos_token` and the like.
 */
export function renderChatTemplate({
  template,
  messages,
  addGenerationPrompt = true,
  specialTokens = {},
}: {
  template: string;
  messages: readonly ChatMessage[];
  addGenerationPrompt?: boolean;
  specialTokens?: Readonly<Record<string, string>>;
}): string {
  let parsed = compiled.get(template);
  if (!parsed) {
    parsed = new Template(template);
    compiled.set(template, parsed);
  }
  return parsed.render({
    ...specialTokens,
    messages: messages.map((message) => ({ role: message.role, content: message.content })),
    add_generation_prompt: addGenerationPrompt,
  });
}
