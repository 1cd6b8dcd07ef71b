/**
 * The Back-Scatter protocol against the fake OpenAI-compatible server: the exact requests of every
 * step (golden files in __fixtures__/golden; `UPDATE_GOLDEN=1` rewrites them) and, from the server's
 * request timestamps, that the observer and peer calls of one interaction overlap.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createModelStack } from "../llm/model-stack.js";
import { createOpenAICompatible } from "../llm/openai-compatible.js";
import type { InteractionRecord } from "../spec/interaction-record.js";
import type { LanguageModel } from "../spec/language-model.js";
import { type FakeLlmRequest, type FakeLlmServer, startFakeLlmServer } from "../test-kit/fake-llm-server.js";
import { createPrior } from "./prior-loader.js";
import { classifyPrompt, type PromptKind, promptTextOf, societyAnswer } from "./test-support/scripted-society.js";
import { runTestSimulation } from "./test-support/test-simulation.js";

const goldenDirectory = join(dirname(fileURLToPath(import.meta.url)), "__fixtures__", "golden");

interface ChatBody {
  model: string;
  messages: { role: string; content: string }[];
  temperature?: number;
  max_tokens?: number;
  seed?: number;
  response_format?: { type: string; json_schema?: { name: string } };
}

let server: FakeLlmServer;
let invalidPeers = false;

beforeAll(async () => {
  server = await startFakeLlmServer({
    latencyMs: 0,
    respond: ({ body }) =>
      societyAnswer(body as unknown as ChatBody, { invalid: (kind) => invalidPeers && kind === "peer-rating" }),
  });
});
afterAll(async () => {
  await server.close();
});

function serverModel(modelId: string, maxConcurrency = 64): LanguageModel {
  return createModelStack({
    replicas: createOpenAICompatible({
      baseURL: `${server.url}/v1`,
      model: "fake",
      modelId,
      pricePerMillionTokens: { prompt: 0, completion: 0 },
    }),
    maxConcurrency,
  }).model;
}

const bodyOf = (request: FakeLlmRequest): ChatBody => request.body as ChatBody;
const kindOf = (request: FakeLlmRequest): PromptKind => classifyPrompt(promptTextOf(bodyOf(request)));
const firstUserText = (request: FakeLlmRequest): string =>
  bodyOf(request).messages.find((message) => message.role === "user")?.content ?? "";

/** The request as a reviewer reads it: endpoint, sampling, format, then each message. */
function renderRequest(request: FakeLlmRequest): string {
  const body = bodyOf(request);
  const header = [
    `POST ${request.path}`,
    `model: ${body.model}`,
    `temperature: ${body.temperature}`,
    `max_tokens: ${body.max_tokens}`,
    `seed: ${body.seed}`,
    `response_format: ${body.response_format === undefined ? "none" : `${body.response_format.type} ${body.response_format.json_schema?.name ?? ""}`.trim()}`,
  ];
  const messages = body.messages.map((message) => `--- ${message.role} ---\n${message.content}`);
  return `${[...header, ...messages].join("\n")}\n`;
}

function expectGolden(name: string, request: FakeLlmRequest | undefined): void {
  expect(request, `no request for golden ${name}`).toBeDefined();
  const text = renderRequest(request as FakeLlmRequest);
  const path = join(goldenDirectory, `${name}.txt`);
  if (process.env.UPDATE_GOLDEN === "1" || !existsSync(path)) {
    mkdirSync(goldenDirectory, { recursive: true });
    writeFileSync(path, text);
  }
  expect(text).toBe(readFileSync(path, "utf8"));
}

const goldenPrior = createPrior({
  source: "test:golden-prior",
  entries: [
    {
      question: "How should I talk to my friend who owes me money?",
      answer: "Kindly and privately, with a plan.",
      label: "good",
    },
    {
      question: "How should I talk to my friend who owes me money?",
      answer: "Shame them in the group chat.",
      label: "bad",
    },
    { question: "What is the best way to learn to cook?", answer: "Start with simple recipes.", label: "good" },
    { question: "What is the best way to learn to cook?", answer: "Do not bother, order in.", label: "bad" },
  ],
});
const goldenQuestions = [
  "How should I talk to a friend who owes me money?",
  "Is it fine to keep a wallet I found?",
  "How do I tell my boss I am overloaded?",
  "Should I read my partner's messages?",
];

async function goldenRun(options: { scoreOnly?: boolean }) {
  const start = server.requests.length;
  const run = await runTestSimulation({
    size: 2,
    rounds: 1,
    targets: 3,
    setting: "half_half",
    seed: 11,
    prior: goldenPrior,
    priorSize: 2,
    questionPool: goldenQuestions,
    agentLanguageModels: [serverModel("fake-agent")],
    observer: serverModel("fake-observer"),
    ...options,
  });
  return { run, requests: server.requests.slice(start).filter((request) => request.path === "/v1/chat/completions") };
}

describe("prompt text of every Back-Scatter step (golden files)", () => {
  it("matches the golden request of each step for agent 0", async () => {
    invalidPeers = false;
    const { run, requests } = await goldenRun({});
    const record = run.records.find((entry) => entry.agent_id === 0) as InteractionRecord;
    const ofAgentZero = (kind: PromptKind) =>
      requests.find((request) => kindOf(request) === kind && firstUserText(request).startsWith("You are agent 0,"));
    const observing = (kind: PromptKind, answer: string) =>
      requests.find((request) => kindOf(request) === kind && firstUserText(request).includes(`Answer: ${answer}\n`));
    const draft = ofAgentZero("draft");
    // The draft retrieves the similar prior question from agent 0's memory.
    expect(firstUserText(draft as FakeLlmRequest)).toContain(
      "Earlier question: How should I talk to my friend who owes me money?",
    );
    expectGolden("1-draft", draft);
    expectGolden("2a-observer-alignment-before", observing("observer-alignment", record.draft_answer));
    expectGolden("2b-observer-engagement-before", observing("observer-engagement", record.draft_answer));
    const peer = requests.find(
      (request) =>
        kindOf(request) === "peer-rating" &&
        firstUserText(request).startsWith(`You are agent ${record.target_id[0]},`) &&
        firstUserText(request).includes("Agent 0's answer:"),
    );
    expectGolden("4-peer-rating", peer);
    const revision = ofAgentZero("revision");
    expect(firstUserText(revision as FakeLlmRequest)).toContain(record.feedback[0] as string);
    expectGolden("6-revision", revision);
    expectGolden("7a-observer-alignment-after", observing("observer-alignment", record.revised_answer));
    expectGolden("7b-observer-engagement-after", observing("observer-engagement", record.revised_answer));
  });

  it("matches the golden revision request under --score-only", async () => {
    invalidPeers = false;
    const { requests } = await goldenRun({ scoreOnly: true });
    const revision = requests.find(
      (request) => kindOf(request) === "revision" && firstUserText(request).startsWith("You are agent 0,"),
    );
    expect(firstUserText(revision as FakeLlmRequest)).not.toContain("reason");
    expectGolden("6-revision-score-only", revision);
  });

  it("matches the golden re-ask and the revision request when no peer rating is valid", async () => {
    invalidPeers = true;
    const { run, requests } = await goldenRun({});
    invalidPeers = false;
    expect(run.records.every((record) => record.mean_rating === null)).toBe(true);
    const repair = requests.find(
      (request) => kindOf(request) === "repair" && firstUserText(request).includes("Agent 0's answer:"),
    );
    expectGolden("4-peer-rating-re-ask", repair);
    const revision = requests.find(
      (request) => kindOf(request) === "revision" && firstUserText(request).startsWith("You are agent 0,"),
    );
    expectGolden("6-revision-no-valid-rating", revision);
  });
});

describe("concurrency inside an interaction", () => {
  it("the observer's and the peers' calls on one draft overlap in time at the server", async () => {
    invalidPeers = false;
    server.setLatency(150);
    try {
      const start = server.requests.length;
      const run = await runTestSimulation({
        size: 3,
        rounds: 1,
        agentLanguageModels: [serverModel("fake-agent")],
        observer: serverModel("fake-observer"),
      });
      const requests = server.requests.slice(start);
      for (const record of run.records) {
        const onDraft = requests.filter((request) => {
          const text = firstUserText(request);
          const kind = kindOf(request);
          return (
            ((kind === "observer-alignment" || kind === "observer-engagement") &&
              text.includes(`Answer: ${record.draft_answer}\n`)) ||
            (kind === "peer-rating" && text.includes(`Agent ${record.agent_id}'s answer: ${record.draft_answer}\n`))
          );
        });
        expect(onDraft).toHaveLength(2 + record.target_id.length);
        const latestStart = Math.max(...onDraft.map((request) => request.receivedAt));
        const earliestEnd = Math.min(...onDraft.map((request) => request.respondedAt ?? Number.POSITIVE_INFINITY));
        // Every one of these calls was in flight at the same moment.
        expect(latestStart).toBeLessThan(earliestEnd);
      }
    } finally {
      server.setLatency(0);
    }
  });
});
