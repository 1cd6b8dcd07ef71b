/**
 * The closed loop end to end (issue 18's done-means): a two-generation tiny recipe on the fake
 * server, generation 2's agents being generation 1's trained model exported to GGUF and run in
 * process by llama.cpp. Every node runs once; a SIGKILL mid-way (in generation 2's society) and a
 * rerun repeat no finished node and no answered LM call (requests counted at the fake server against
 * an uninterrupted run); editing only the evaluation section reruns only the evaluation nodes.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { societyAnswer } from "../sandbox/test-support/scripted-society.js";
import { acquireRunLock } from "../store/run-lock.js";
import { type FakeLlmServer, startFakeLlmServer } from "../test-kit/fake-llm-server.js";
import { runCliProcess } from "./cli-process.js";

const binPath = fileURLToPath(new URL("../../bin/stable-alignment.js", import.meta.url));
let server: FakeLlmServer;
let requests = 0;
let hold: ((count: number) => Promise<void>) | undefined;
let root: string;
const environment = () => ({
  STABLE_ALIGNMENT_CACHE: join(root, "cache"),
  // A closed port: nothing is ever downloaded.
  HF_ENDPOINT: "http://127.0.0.1:9",
});

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "experiment-"));
  server = await startFakeLlmServer({
    recordRequests: false,
    respond: async ({ body }) => {
      requests += 1;
      await hold?.(requests);
      return societyAnswer(body as never);
    },
  });
  const questions = [
    "How do I make a friend at a new school?",
    "Is it okay to lie to protect someone?",
    "What should I do if I find a lost wallet?",
    "How can I stay calm before an exam?",
    "Should I tell my friend a hard truth?",
    "How do I apologise after an argument?",
    "Is it fine to copy homework once?",
    "How can I help a neighbour in need?",
  ];
  writeFileSync(join(root, "questions.txt"), `${questions.join("\n")}\n`);
  const item = (question: string, right: string, wrong: string) => ({
    question,
    mc1_targets: { [right]: 1, [wrong]: 0 },
    mc2_targets: { [right]: 1, [wrong]: 0 },
  });
  writeFileSync(
    join(root, "mc_task.json"),
    JSON.stringify([
      item("What happens if you swallow gum?", "It passes through you.", "It stays for seven years."),
      item("Is lying usually right?", "Usually not.", "Always."),
      item("Should you help others?", "Yes, when you can.", "Never."),
    ]),
  );
});
afterAll(async () => {
  await server.close();
});

function recipe({ limit }: { limit: number }): string {
  const spec = `openai:fake@${server.url}/v1`;
  return `name: tiny-two-generations
generations: 2
society:
  size: 2
  rounds: 1
  questions: questions.txt
  agents:
    - model: ${spec}
  observer: ${spec}
  agentSampling: { temperature: 1, maxTokens: 24 }
  observerSampling: { temperature: 1, maxTokens: 64 }
data:
  mix: all
training:
  start: { init: tiny, vocab: 300 }
  objective: sft
  hyperparameters: { epochs: 1, maxLength: 64, gradientAccumulation: 1, evalSplit: 0 }
evaluation:
  benchmarks:
    - name: truthfulqa
      data: mc_task.json
  limit: ${limit}
serving: { kind: gguf, threads: 1 }
`;
}

const NODES = [
  "model-init",
  "evaluation-0",
  "society-1",
  "data-1",
  "train-1",
  "evaluation-1",
  "export-1",
  "society-2",
  "data-2",
  "train-2",
  "evaluation-2",
];
/** Node names of the lines `<verb> <node> ...` of an output. */
const linesOf = (stdout: string, verb: string): string[] =>
  stdout
    .split("\n")
    .filter((line) => line.startsWith(`${verb} `))
    .map((line) => line.split(" ")[1] ?? "");

describe("experiment run: two generations on the fake server", () => {
  it("runs every node once, resumes a SIGKILL without repeating a node or an answered call, and reruns only an edited evaluation", {
    timeout: 300_000,
  }, async () => {
    const recipeFile = join(root, "tiny.yaml");
    writeFileSync(recipeFile, recipe({ limit: 3 }));

    // The plan estimates generation 1's society before anything runs (no request is made).
    requests = 0;
    const plan = await runCliProcess({
      args: ["experiment", "plan", recipeFile, "--out", join(root, "reference")],
      environment: environment(),
    });
    expect(plan.code, plan.stderr).toBe(0);
    expect(requests).toBe(0);
    const estimatedCalls = Number(/generation 1: chat calls (\d+)/.exec(plan.stdout)?.[1]);

    // Reference: uninterrupted.
    requests = 0;
    const reference = await runCliProcess({
      args: ["experiment", "run", recipeFile, "--out", join(root, "reference")],
      environment: environment(),
      timeoutMs: 240_000,
    });
    expect(reference.code, reference.stderr).toBe(0);
    expect(linesOf(reference.stdout, "done")).toEqual(NODES);
    const referenceRequests = requests;
    expect(referenceRequests).toBeGreaterThan(0);
    const report = readFileSync(join(root, "reference", "report.md"), "utf8");
    expect(report).toMatch(/\| 2 \| 4 \| \d/);
    expect(report).toContain("| 2 | truthfulqa | mc1 |");
    expect(report).toMatch(/generation 2: gguf:.*export-1-[0-9a-f]{16}\/model\.gguf/);

    // Killed in generation 2's society: the first requests after generation 1's are answered, then
    // one is held, the command is SIGKILLed and every later request of the dead process is held.
    const out = join(root, "killed");
    // Generation 1's society asks the fake server every call (agents and observer); generation 2's only the observer's.
    const index = JSON.parse(readFileSync(join(root, "reference", "experiment.json"), "utf8")) as {
      nodes: { name: string; directory: string }[];
    };
    const societyDirectory = index.nodes.find((node) => node.name === "society-1")?.directory ?? "";
    const firstSociety = (
      JSON.parse(readFileSync(join(root, "reference", societyDirectory, "node-complete.json"), "utf8")) as {
        usage: { calls: number };
      }
    ).usage.calls;
    expect(firstSociety).toBeLessThan(referenceRequests - 6);
    expect(Math.abs(estimatedCalls - firstSociety) / firstSociety).toBeLessThanOrEqual(0.1);
    const killAt = firstSociety + 6;
    requests = 0;
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const child = spawn(process.execPath, [binPath, "experiment", "run", recipeFile, "--out", out], {
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...environment() },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let killedStdout = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      killedStdout += chunk;
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once("exit", (_code, signal) => resolve(signal)),
    );
    hold = async (count) => {
      if (count < killAt) return;
      // Answers already sent reach the cache before the kill.
      if (count === killAt) setTimeout(() => child.kill("SIGKILL"), 1000);
      await released;
    };
    expect(await exited).toBe("SIGKILL");
    const answeredBeforeKill = killAt - 1;
    hold = undefined;
    release();
    expect(linesOf(killedStdout, "done")).toEqual(NODES.slice(0, 7));
    expect(linesOf(killedStdout, "run").at(-1)).toBe("society-2");

    requests = 0;
    const resumed = await runCliProcess({
      args: ["experiment", "run", recipeFile, "--out", out, "--resume"],
      environment: environment(),
      timeoutMs: 240_000,
    });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(linesOf(resumed.stdout, "skip")).toEqual(NODES.slice(0, 7));
    expect(linesOf(resumed.stdout, "resume")).toEqual(["society-2"]);
    expect(linesOf(resumed.stdout, "done")).toEqual(NODES.slice(7));
    // No answered call was asked again, and nothing more was asked than an uninterrupted run asks.
    expect(answeredBeforeKill + requests).toBe(referenceRequests);

    // Only the evaluation section changes: only the evaluation nodes run, with no LM call.
    writeFileSync(recipeFile, recipe({ limit: 2 }));
    requests = 0;
    const edited = await runCliProcess({
      args: ["experiment", "run", recipeFile, "--out", out],
      environment: environment(),
      timeoutMs: 240_000,
    });
    expect(edited.code, edited.stderr).toBe(0);
    expect(linesOf(edited.stdout, "run")).toEqual(["evaluation-0", "evaluation-1", "evaluation-2"]);
    expect(linesOf(edited.stdout, "skip")).toEqual(NODES.filter((name) => !name.startsWith("evaluation")));
    expect(requests).toBe(0);
    expect(readFileSync(join(out, "report.md"), "utf8")).toContain("(n 2)");
  });

  it("judges each generation's answers in generation mode; sandbox leaves out the questions the model trained on", {
    timeout: 120_000,
  }, async () => {
    const recipeFile = join(root, "judged.yaml");
    const spec = `openai:fake@${server.url}/v1`;
    writeFileSync(
      recipeFile,
      recipe({ limit: 3 })
        .replace("generations: 2", "generations: 1")
        .replace("  questions: questions.txt", "  questions: questions.txt\n  questionsPerGeneration: 4")
        .replace(
          "  limit: 3\n",
          `  limit: 3\n  judge:\n    model: ${spec}\n    benchmarks: [{ name: sandbox }]\n    limit: 2\n`,
        ),
    );
    const out = join(root, "judged");
    const result = await runCliProcess({
      args: ["experiment", "run", recipeFile, "--out", out],
      environment: environment(),
      timeoutMs: 100_000,
    });
    expect(result.code, result.stderr).toBe(0);
    const report = readFileSync(join(out, "report.md"), "utf8");
    expect(report).toContain("## Judged answers per generation");
    expect(report).toMatch(/\| 0 \| sandbox \| \d\.\d{3} \[/);
    expect(report).toMatch(/\| 1 \| sandbox \| \d\.\d{3} \[/);
    // Generation 1's model trained on its society's questions: the sandbox benchmark left them out.
    const index = JSON.parse(readFileSync(join(out, "experiment.json"), "utf8")) as {
      nodes: { name: string; directory: string }[];
    };
    const evaluation = index.nodes.find((node) => node.name === "evaluation-1")?.directory ?? "";
    const judged = JSON.parse(readFileSync(join(out, evaluation, "judged", "report.json"), "utf8")) as {
      benchmarks: { answers: { question: string }[] }[];
    };
    const asked = judged.benchmarks[0]?.answers.map((answer) => answer.question) ?? [];
    const society = index.nodes.find((node) => node.name === "society-1")?.directory ?? "";
    const trained = readFileSync(join(out, society, "run", "records.jsonl"), "utf8")
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => (JSON.parse(line) as { question: string }).question);
    expect(asked).toHaveLength(2);
    expect(trained.length).toBeGreaterThan(0);
    expect(asked.filter((question) => trained.includes(question))).toEqual([]);
  });

  it("a bad recipe is one line naming the file, line and field, and nothing is written", async () => {
    const recipeFile = join(root, "bad.yaml");
    writeFileSync(recipeFile, recipe({ limit: 3 }).replace("  size: 2", "  size: 1"));
    const out = join(root, "bad-out");
    const result = await runCliProcess({
      args: ["experiment", "run", recipeFile, "--out", out],
      environment: environment(),
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toContain(`${recipeFile}:4: field "society.size"`);
    expect(existsSync(out)).toBe(false);
  });

  it("an endpoint a step will call that does not answer is named with its recipe line before anything runs", async () => {
    const recipeFile = join(root, "judge-down.yaml");
    // Port 9 (discard) is closed here: the judge's endpoint refuses the connection.
    writeFileSync(
      recipeFile,
      recipe({ limit: 3 }).replace(
        "  limit: 3\n",
        "  limit: 3\n  judge:\n    model: openai:judge@http://127.0.0.1:9/v1\n    benchmarks: [{ name: sandbox }]\n",
      ),
    );
    const out = join(root, "judge-down");
    const result = await runCliProcess({
      args: ["experiment", "run", recipeFile, "--out", out],
      environment: environment(),
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(
      new RegExp(
        `${recipeFile.replaceAll("/", "\\/")}:2\\d: field "evaluation\\.judge\\.model": endpoint http:\\/\\/127\\.0\\.0\\.1:9\\/v1 does not answer \\(.*ECONNREFUSED.*\\); evaluation-0 needs it`,
      ),
    );
    expect(existsSync(out)).toBe(false);
  });

  it("refuses a second process on the same experiment directory, naming the holder's pid", async () => {
    const recipeFile = join(root, "locked.yaml");
    writeFileSync(recipeFile, recipe({ limit: 3 }));
    const out = join(root, "locked");
    mkdirSync(out);
    const lock = acquireRunLock({ directory: out, command: "experiment run" });
    try {
      const result = await runCliProcess({
        args: ["experiment", "run", recipeFile, "--out", out],
        environment: environment(),
      });
      expect(result.code).not.toBe(0);
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
      expect(result.stderr).toContain(String(process.pid));
      expect(existsSync(join(out, "experiment.json"))).toBe(false);
    } finally {
      lock.release();
    }
  });

  it("refuses --resume of a directory that holds no experiment, in one line", async () => {
    const recipeFile = join(root, "refuse.yaml");
    writeFileSync(recipeFile, recipe({ limit: 3 }));
    const result = await runCliProcess({
      args: ["experiment", "run", recipeFile, "--out", join(root, "empty"), "--resume"],
      environment: environment(),
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toContain("holds no experiment");
  });
});
