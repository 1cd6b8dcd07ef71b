/**
 * A fake OpenAI-compatible server (in this process) that answers like a society, and models that talk
 * to it over HTTP through the standard model stack while recording the requests they send, so tests
 * can inspect prompts exactly as with a scripted model but through the real provider path.
 */
import { createModelStack } from "../../llm/model-stack.js";
import { createOpenAICompatible } from "../../llm/openai-compatible.js";
import type { GenerateRequest, LanguageModel } from "../../spec/language-model.js";
import { type FakeLlmServer, startFakeLlmServer } from "../../test-kit/fake-llm-server.js";
import { type PromptKind, type SocietyRequest, societyAnswer } from "./scripted-society.js";

/** A model over HTTP that keeps every request it sent. */
export interface RecordingModel extends LanguageModel {
  readonly requests: GenerateRequest[];
}

/** The running server and a factory of models bound to it. */
export interface SocietyServer {
  readonly server: FakeLlmServer;
  /** A model named `modelId` at the server; `invalid` makes the server answer its rating prompts unreadably. */
  model(options: {
    modelId: string;
    invalid?: (kind: PromptKind, text: string) => boolean;
    maxConcurrency?: number;
  }): RecordingModel;
  close(): Promise<void>;
}

/** Starts the server; `latencyMs` (default 0) delays every answer. */
export async function startSocietyServer({ latencyMs = 0 }: { latencyMs?: number } = {}): Promise<SocietyServer> {
  const rules = new Map<string, (kind: PromptKind, text: string) => boolean>();
  const server = await startFakeLlmServer({
    latencyMs,
    respond: ({ body }) => {
      const invalid = rules.get(String(body.model));
      return societyAnswer(body as SocietyRequest, invalid === undefined ? {} : { invalid });
    },
  });
  return {
    server,
    model({ modelId, invalid, maxConcurrency = 64 }) {
      if (invalid !== undefined) rules.set(modelId, invalid);
      const stack = createModelStack({
        replicas: createOpenAICompatible({
          baseURL: `${server.url}/v1`,
          model: modelId,
          modelId,
          pricePerMillionTokens: { prompt: 0, completion: 0 },
        }),
        maxConcurrency,
      });
      const requests: GenerateRequest[] = [];
      return {
        ...stack.model,
        // Chat only: the prompts under test are chat messages; JSON schema stays as the provider says.
        requests,
        generate(request) {
          requests.push(request);
          return stack.model.generate(request);
        },
      };
    },
    close: () => server.close(),
  };
}
