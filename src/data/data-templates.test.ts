import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError } from "../spec/errors.js";
import { compileDataTemplate, loadDataTemplates, parseAlpacaPrompt } from "./data-templates.js";

let directory: string;
beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), "data-templates-"));
});
afterEach(() => {
  rmSync(directory, { recursive: true, force: true });
});

describe("data templates", () => {
  it("renders the short Alpaca template with and without the input block", () => {
    const templates = loadDataTemplates();
    expect(templates.version).toBe("v1");
    expect(templates.renderAlpacaPrompt({ instruction: "Do it." })).toBe("### Instruction:\nDo it.\n\n### Response:");
    expect(templates.renderAlpacaPrompt({ instruction: "Do it.", input: "This." })).toBe(
      "### Instruction:\nDo it.\n\n### Input:\nThis.\n\n### Response:",
    );
    expect(templates.renderImitationPrompt("Why {{input}}?")).toBe("### Instruction:\nWhy {{input}}?\n\n### Response:");
  });

  it("takes overriding files from a folder and keeps the built-in ones for the rest", () => {
    writeFileSync(join(directory, "realignment-response.txt"), "{{feedback}} -> {{revision}}\n");
    const templates = loadDataTemplates({ directory });
    expect(templates.version).toBe("v1+custom");
    expect(templates.sources["realignment-response"]).toBe(join(directory, "realignment-response.txt"));
    expect(templates.renderRealignmentResponse("Too curt.", "Longer answer.")).toBe("Too curt. -> Longer answer.");
    expect(templates.renderSelfCriticPrompt("Q?", "D.")).toMatch(
      /^### Instruction:\nQ\?\n\n.+\n\n### Input:\nD\.\n\n### Response:$/s,
    );
  });

  it("rejects unknown and missing placeholders, naming the file and line", () => {
    writeFileSync(join(directory, "self-critic-instruction.txt"), "{{question}}\n\nRate {{answer}}.\n");
    expect(() => loadDataTemplates({ directory })).toThrow(
      `${join(directory, "self-critic-instruction.txt")}:3: unknown placeholder {{answer}}`,
    );
    expect(() => compileDataTemplate({ text: "no slot", source: "t.txt", placeholders: ["question"] })).toThrow(
      ConfigError,
    );
    expect(() => loadDataTemplates({ directory: join(directory, "missing") })).toThrow("does not exist");
  });

  it("use the prompts' template language: a block in an override file works, an unclosed one names the line", () => {
    writeFileSync(
      join(directory, "realignment-response.txt"),
      "{{#if feedback}}\nFeedback: {{feedback}}\n{{/if}}\nRevision: {{revision}}\n",
    );
    const templates = loadDataTemplates({ directory });
    expect(templates.renderRealignmentResponse("", "R.")).toBe("Revision: R.");
    expect(templates.renderRealignmentResponse("F.", "R.")).toBe("Feedback: F.\nRevision: R.");
    writeFileSync(join(directory, "realignment-response.txt"), "{{feedback}}\n{{#if revision}}\n{{revision}}\n");
    expect(() => loadDataTemplates({ directory })).toThrow(`${join(directory, "realignment-response.txt")}:2:`);
  });

  it("parses Alpaca prompts back into instruction and input", () => {
    expect(parseAlpacaPrompt("### Instruction:\nA\n\nB\n\n### Input:\nC\n\nD\n\n### Response:")).toEqual({
      instruction: "A\n\nB",
      input: "C\n\nD",
    });
    expect(parseAlpacaPrompt("### Instruction:\nA\n\n### Response:\n")).toEqual({ instruction: "A", input: null });
    expect(parseAlpacaPrompt("\n\nHuman: hi\n\nAssistant:")).toBeNull();
  });
});
