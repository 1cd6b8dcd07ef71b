/** Tokens used by one call, as reported by the backend (apart from language-model.ts so scoring.ts can import it without a cycle). */
export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
}
