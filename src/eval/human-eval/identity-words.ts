/**
 * Words that give away who wrote an answer ("As an AI developed by ...", model and vendor names).
 * Answers holding one are flagged for review on the admin page: a rater who sees one is no longer
 * blind to the model.
 */

/** Always flagged, matched case-insensitively on word boundaries. */
export const IDENTITY_WORDS: readonly string[] = [
  "as an ai developed by",
  "as a large language model",
  "as an ai language model",
  "language model trained by",
  "openai",
  "anthropic",
  "chatgpt",
  "gpt",
  "claude",
  "llama",
  "qwen",
  "mistral",
  "mixtral",
  "gemma",
  "gemini",
  "deepseek",
  "phi-3",
  "meta ai",
  "stable-alignment",
];

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * The identity words `text` holds: the list above plus each model's name (the part of its spec after
 * the provider and path, e.g. `openai:gpt-4o-mini` gives `gpt-4o-mini`). Lower case, each once.
 */
export function findIdentityWords({ text, models = [] }: { text: string; models?: readonly string[] }): string[] {
  const modelNames = models.flatMap((spec) => {
    const name =
      spec
        .split(/[:/\\]/)
        .at(-1)
        ?.replace(/\.(gguf|safetensors)$/i, "") ?? "";
    return name.length >= 3 ? [name.toLowerCase()] : [];
  });
  const found: string[] = [];
  for (const word of [...IDENTITY_WORDS, ...modelNames]) {
    if (found.includes(word)) continue;
    if (new RegExp(`(^|[^a-z0-9])${escapeRegExp(word)}($|[^a-z0-9])`, "i").test(text)) found.push(word);
  }
  return found;
}
