/** US dollars per million tokens, prompt and completion. */
export interface TokenPrice {
  prompt: number;
  completion: number;
}

/** Model id -> price. Keys are the names a server knows a model by (`gpt-4o-mini`). */
export type PriceTable = Readonly<Record<string, TokenPrice>>;

/**
 * List prices of common OpenAI models (USD per million tokens, standard tier, as published in 2025).
 * Prices change: override or extend them through the `priceTable` option or the config file.
 */
export const defaultPriceTable: PriceTable = {
  "gpt-4o": { prompt: 2.5, completion: 10 },
  "gpt-4o-mini": { prompt: 0.15, completion: 0.6 },
  "gpt-4.1": { prompt: 2, completion: 8 },
  "gpt-4.1-mini": { prompt: 0.4, completion: 1.6 },
  "gpt-4.1-nano": { prompt: 0.1, completion: 0.4 },
  "gpt-4-turbo": { prompt: 10, completion: 30 },
  "gpt-4": { prompt: 30, completion: 60 },
  "gpt-3.5-turbo": { prompt: 0.5, completion: 1.5 },
  "gpt-3.5-turbo-instruct": { prompt: 1.5, completion: 2 },
  o1: { prompt: 15, completion: 60 },
  o3: { prompt: 2, completion: 8 },
  "o3-mini": { prompt: 1.1, completion: 4.4 },
  "o4-mini": { prompt: 1.1, completion: 4.4 },
  "text-embedding-3-small": { prompt: 0.02, completion: 0 },
  "text-embedding-3-large": { prompt: 0.13, completion: 0 },
  "text-embedding-ada-002": { prompt: 0.1, completion: 0 },
};

/**
 * The price of `modelId` in `table`: the exact id first, then without a `provider:` prefix and an
 * `@url` suffix (`openai:gpt-4o@http://...`), then without a dated snapshot suffix (`-2024-08-06`).
 */
export function lookupPrice(table: PriceTable, modelId: string): TokenPrice | undefined {
  const exact = table[modelId];
  if (exact !== undefined) return exact;
  const bare = modelId.replace(/^[a-z][a-z0-9-]*:/, "").replace(/@.*$/, "");
  const plain = table[bare];
  if (plain !== undefined) return plain;
  return table[bare.replace(/-\d{4}-\d{2}-\d{2}$/, "")];
}
