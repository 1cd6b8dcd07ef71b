import type { GenerateRequest, GenerateResult, LanguageModel, ModelCapabilities } from "../spec/language-model.js";

/** What a scripted model answers: a fixed string, or a function of the request and call number. */
export type ScriptedResponder = string | ((request: GenerateRequest, callIndex: number) => string | Promise<string>);

/** A test double at the LM boundary: answers from a script, records every request. Never a default. */
export interface ScriptedModel extends LanguageModel {
  /** Every request received, in order. */
  readonly requests: GenerateRequest[];
}

/**
 * Creates a scripted model. `respond` decides each answer; `latencyMs` (default 0) delays each answer;
 * usage counts characters / 4 as tokens. Capabilities default to chat + completion + JSON schema.
 */
export function createScriptedModel({
  respond,
  modelId = "scripted",
  latencyMs = 0,
  capabilities = { chat: true, completion: true, jsonSchema: true, grammar: false },
}: {
  respond: ScriptedResponder;
  modelId?: string;
  latencyMs?: number;
  capabilities?: ModelCapabilities;
}): ScriptedModel {
  const requests: GenerateRequest[] = [];
  return {
    provider: "scripted",
    modelId,
    capabilities,
    pricePerMillionTokens: { prompt: 0, completion: 0 },
    requests,
    async generate(request: GenerateRequest): Promise<GenerateResult> {
      const callIndex = requests.length;
      requests.push(request);
      if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
      request.signal?.throwIfAborted();
      const text = typeof respond === "string" ? respond : await respond(request, callIndex);
      const promptText = request.messages
        ? request.messages.map((message) => message.content).join("\n")
        : request.prompt;
      return {
        text,
        finishReason: "stop",
        usage: { promptTokens: Math.ceil(promptText.length / 4), completionTokens: Math.ceil(text.length / 4) },
        modelId,
      };
    },
  };
}
