import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../spec/errors.js";
import { builtinPromptDirectory, loadPromptTemplates, PROMPT_NAMES } from "./prompt-templates.js";

describe("prompt templates", () => {
  it("load every built-in prompt with its version and hash", () => {
    const templates = loadPromptTemplates();
    for (const name of PROMPT_NAMES) {
      expect(templates.provenance[name].version).toBe("v1");
      expect(templates.provenance[name].sha256).toMatch(/^[0-9a-f]{64}$/);
    }
    const draft = templates.render("draft", { agent_id: 3, question: "Q?", memory_question: "", memory_answer: "" });
    expect(draft).toContain("agent 3");
    expect(draft).toContain("Question: Q?");
    expect(draft).not.toContain("similar question");
  });

  it("use an override file from the user's directory", () => {
    const directory = mkdtempSync(join(tmpdir(), "prompts-"));
    writeFileSync(join(directory, "draft.txt"), "Just answer: {{question}}\n");
    const templates = loadPromptTemplates({ overrideDirectory: directory });
    expect(templates.render("draft", { agent_id: 1, question: "Why?", memory_question: "", memory_answer: "" })).toBe(
      "Just answer: Why?",
    );
    expect(templates.provenance.draft).toMatchObject({ origin: "override", version: "user", file: "draft.txt" });
    expect(templates.provenance.revision.origin).toBe("builtin");
  });

  it("reject an override that uses a variable its prompt lacks, naming the file", () => {
    const directory = mkdtempSync(join(tmpdir(), "prompts-"));
    writeFileSync(join(directory, "observer-alignment.v2.txt"), "{{question}} {{agent_id}}");
    expect(() => loadPromptTemplates({ overrideDirectory: directory })).toThrow(ConfigError);
    expect(() => loadPromptTemplates({ overrideDirectory: directory })).toThrow(
      /observer-alignment\.v2\.txt.*agent_id/,
    );
    expect(() => loadPromptTemplates({ overrideDirectory: join(directory, "nope") })).toThrow(/does not exist/);
  });

  it("find the built-in files beside the module in a checkout and under src/ from the compiled dist/", () => {
    const root = mkdtempSync(join(tmpdir(), "package-"));
    const compiled = join(root, "dist", "llm", "prompts");
    const shipped = join(root, "src", "llm", "prompts", "builtin");
    mkdirSync(compiled, { recursive: true });
    mkdirSync(shipped, { recursive: true });
    expect(builtinPromptDirectory({ moduleDirectory: compiled })).toBe(shipped);
    expect(builtinPromptDirectory({ moduleDirectory: join(root, "src", "llm", "prompts") })).toBe(shipped);
    expect(builtinPromptDirectory()).toMatch(/src\/llm\/prompts\/builtin$/);
  });
});
