import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { runCliProcess } from "./cli-process.js";
import { runCli } from "./main.js";

let directory: string;
beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), "cli-usage-"));
  // Nothing here may reach a network or a developer's keys.
  vi.stubEnv("OPENAI_API_KEY", "");
  vi.stubEnv("HF_ENDPOINT", "http://127.0.0.1:9");
  vi.stubEnv("STABLE_ALIGNMENT_CACHE", join(directory, "cache"));
});
afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  rmSync(directory, { recursive: true, force: true });
});

/** Runs the CLI in process; returns the exit code and what it wrote to stderr, line by line. */
async function cli(args: readonly string[]): Promise<{ code: number; lines: string[] }> {
  const config = join(directory, "config.yaml");
  writeFileSync(config, "{}\n");
  let stderr = "";
  vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  vi.spyOn(process.stdout, "write").mockImplementation(() => true);
  try {
    const code = await runCli(["node", "stable-alignment", "--config", config, ...args]);
    return { code, lines: stderr.split("\n").filter((line) => line !== "") };
  } finally {
    vi.restoreAllMocks();
  }
}

// A server is never reached: every case is refused before the first call.
const server = "openai:fake@http://127.0.0.1:9/v1";
const simulateHint = '(run "stable-alignment simulate --help" for usage)';

interface Case {
  name: string;
  /** Arguments after `simulate --run-dir <run>` (or the whole command line when `command` is given). */
  args: (paths: { root: string }) => string[];
  command?: "data import" | "data export";
  code: 1 | 2;
  message: RegExp;
}

const cases: Case[] = [
  {
    name: "a model weight that is not a number",
    args: () => ["--agent-model", `${server}=abc`, "--observer-model", server],
    code: 2,
    message: /--agent-model.*positive number.*"abc"/,
  },
  {
    name: "a negative model weight",
    args: () => ["--agent-model", `${server}=-1`, "--observer-model", server],
    code: 2,
    message: /--agent-model.*positive number.*"-1"/,
  },
  {
    name: "a malformed observer spec",
    args: () => ["--agent-model", server, "--observer-model", "gpt-4o"],
    code: 2,
    message: /--observer-model: model spec "gpt-4o" has no provider prefix/,
  },
  {
    name: "a world of one agent (nobody to give feedback)",
    args: () => ["--agent-model", server, "--observer-model", server, "--size", "1"],
    code: 2,
    message: /--size must be an integer between 2 and 100, got "1"/,
  },
  {
    name: "more targets than other agents",
    args: () => ["--agent-model", server, "--observer-model", server, "--size", "3", "--targets", "9"],
    code: 2,
    message: /--targets 9 is more than the 8 other agents of a 3x3 world/,
  },
  {
    name: "an empty prior",
    args: () => ["--agent-model", server, "--observer-model", server, "--prior-size", "0"],
    code: 2,
    message: /--prior-size must be an integer between 1 and/,
  },
  {
    name: "an unknown setting",
    args: () => ["--agent-model", server, "--observer-model", server, "--setting", "all_neutral"],
    code: 2,
    message: /'all_neutral' is invalid.*all_good/,
  },
  {
    name: "a prompt file whose name matches no prompt",
    args: ({ root }) => {
      const prompts = join(root, "prompts");
      mkdirSync(prompts);
      writeFileSync(join(prompts, "drafts.txt"), "Answer {{question}}\n");
      return ["--agent-model", server, "--observer-model", server, "--prompts", prompts];
    },
    code: 1,
    message: /prompts\/drafts\.txt: names no prompt; .*draft, peer-rating/,
  },
  {
    name: "a prompt directory that is a file",
    args: ({ root }) => {
      writeFileSync(join(root, "prompts.txt"), "not a directory\n");
      return ["--agent-model", server, "--observer-model", server, "--prompts", join(root, "prompts.txt")];
    },
    code: 1,
    message: /prompt directory .*prompts\.txt is not a directory/,
  },
  {
    name: "a missing GGUF file",
    args: ({ root }) => ["--agent-model", `gguf:${join(root, "none.gguf")}`, "--observer-model", server],
    code: 1,
    message: /gguf:.*none\.gguf: no such file/,
  },
  {
    name: "an OpenAI model without OPENAI_API_KEY",
    args: () => ["--agent-model", server, "--observer-model", "openai:gpt-4o-mini"],
    code: 1,
    message: /openai:gpt-4o-mini needs OPENAI_API_KEY/,
  },
  {
    name: "a missing local checkpoint",
    args: ({ root }) => ["--agent-model", `local:${join(root, "none")}`, "--observer-model", server],
    code: 1,
    message: /local:.*none: no such directory/,
  },
  {
    name: "a missing GGUF embedder",
    args: ({ root }) => ["--agent-model", server, "--observer-model", server, "--embedder", `gguf:${root}/e.gguf`],
    code: 1,
    message: /e\.gguf: no such file/,
  },
  {
    name: "an embedder that cannot embed",
    args: () => ["--agent-model", server, "--observer-model", server, "--embedder", "local:./model"],
    code: 2,
    message: /--embedder: embedder "local:.\/model" is not supported/,
  },
  {
    name: "a chosen score off the 1-7 scale",
    command: "data import",
    args: ({ root }) => [join(root, "pairs.jsonl"), "--format", "hh-rlhf", "--chosen-score", "99"],
    code: 2,
    message: /--chosen-score must be a number between 1 and 7, got "99"/,
  },
  {
    name: "a KTO threshold off the 1-7 scale",
    command: "data export",
    args: ({ root }) => ["--in", join(root, "data.json"), "--format", "kto", "--kto-desirable", "9"],
    code: 2,
    message: /--kto-desirable must be a number between 1 and 7, got "9"/,
  },
];

describe("nonsense is refused in one line before anything is written", () => {
  for (const testCase of cases) {
    it(`${testCase.name}: exit ${testCase.code}`, async () => {
      const root = directory;
      const output = join(root, "out");
      const args =
        testCase.command === undefined
          ? ["simulate", "--run-dir", output, ...testCase.args({ root })]
          : [...testCase.command.split(" "), ...testCase.args({ root }), "--out", output];
      const { code, lines } = await cli(args);
      expect(code).toBe(testCase.code);
      expect(lines[0]).toMatch(/^error: /);
      expect(lines[0]).toMatch(testCase.message);
      if (testCase.code === 2) {
        // The error, then one hint line pointing at the command's own help; never the whole help.
        const command = testCase.command ?? "simulate";
        expect(lines).toEqual([lines[0], `(run "stable-alignment ${command} --help" for usage)`]);
      } else {
        expect(lines).toHaveLength(1);
      }
      expect(existsSync(output)).toBe(false);
    });
  }

  it("keeps the default --targets (4) legal in a 2x2 world: every agent takes the neighbours it has", async () => {
    const output = join(directory, "out");
    const missing = `gguf:${join(directory, "none.gguf")}`;
    const { code, lines } = await cli([
      "simulate",
      "--run-dir",
      output,
      "--size",
      "2",
      "--agent-model",
      missing,
      "--observer-model",
      missing,
    ]);
    expect(code).toBe(1);
    expect(lines).toEqual([expect.stringMatching(/none\.gguf: no such file/)]);
  });

  it("keeps --targets up to size^2 - 1 legal (corner cells then take every neighbour they have)", async () => {
    const output = join(directory, "out");
    const missing = `gguf:${join(directory, "none.gguf")}`;
    const { code, lines } = await cli([
      "simulate",
      "--run-dir",
      output,
      "--size",
      "3",
      "--targets",
      "8",
      "--agent-model",
      missing,
      "--observer-model",
      missing,
    ]);
    // Past the targets check: refused only for the missing model.
    expect(code).toBe(1);
    expect(lines).toEqual([expect.stringMatching(/none\.gguf: no such file/)]);
    expect(existsSync(output)).toBe(false);
  });
});

describe("usage errors", () => {
  it("flags that cannot work together are usage errors that point at the command's help, exit 2", async () => {
    expect(await cli(["generate", "--model", server, "--prompt", "x", "--completion", "--system", "s"])).toEqual({
      code: 2,
      lines: [
        "error: --system applies to chat; drop it or drop --completion",
        '(run "stable-alignment generate --help" for usage)',
      ],
    });
    expect(await cli(["generate", "--model", `openai-completion:base@http://127.0.0.1:9/v1`, "--prompt", "x"])).toEqual(
      {
        code: 2,
        lines: [
          "error: openai-completion:base@http://127.0.0.1:9/v1 is a completion model: add --completion",
          '(run "stable-alignment generate --help" for usage)',
        ],
      },
    );
    expect(await cli(["data", "build", "--out", join(directory, "out.json")])).toEqual({
      code: 2,
      lines: [
        "error: data build needs at least one --run <dir>",
        '(run "stable-alignment data build --help" for usage)',
      ],
    });
    expect(existsSync(join(directory, "out.json"))).toBe(false);
  });

  it("an unknown option or command prints the error and one hint line, exit 2", async () => {
    expect(await cli(["simulate", "--nonsense", "4"])).toEqual({
      code: 2,
      lines: ["error: unknown option '--nonsense'", simulateHint],
    });
    expect(await cli(["data", "frobnicate"])).toEqual({
      code: 2,
      lines: ["error: unknown command 'frobnicate'", '(run "stable-alignment data --help" for usage)'],
    });
  });
});

describe("the stable-alignment process", () => {
  it("prints the package.json version with --version and exits 2 on a bad value", async () => {
    const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      version: string;
    };
    expect(await runCliProcess({ args: ["--version"] })).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: "" });
    const output = join(directory, "run");
    const refused = await runCliProcess({ args: ["simulate", "--size", "1", "--run-dir", output], cwd: directory });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(
      `error: option '--size <n>' argument '1' is invalid. --size must be an integer between 2 and 100, got "1"\n${simulateHint}\n`,
    );
    expect(existsSync(output)).toBe(false);
  });
});
