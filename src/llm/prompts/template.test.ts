import { describe, expect, it } from "vitest";
import { ConfigError } from "../../spec/errors.js";
import { parseTemplate } from "./template.js";

describe("templates", () => {
  it("fills values, conditionals and lists; standalone block tags leave no blank lines", () => {
    const template = parseTemplate(
      "Hi {{name}}.\n{{#if memory}}\nMemory: {{memory}}\n{{else}}\nNo memory.\n{{/if}}\n{{#each items}}\n- {{label}} of {{name}}\n{{/each}}\nEnd",
    );
    expect(template.render({ name: "A", memory: "", items: [{ label: "x" }, { label: "y" }] })).toBe(
      "Hi A.\nNo memory.\n- x of A\n- y of A\nEnd",
    );
    expect(template.render({ name: "B", memory: "m", items: [] })).toBe("Hi B.\nMemory: m\nEnd");
  });

  it("keeps inline block tags inline", () => {
    expect(parseTemplate("a {{#if x}}yes{{else}}no{{/if}} b").render({ x: true })).toBe("a yes b");
  });

  it("names the file and line of errors", () => {
    expect(() => parseTemplate("one\n{{#if x}}\nnever closed", { source: "my.txt" })).toThrow(/my\.txt:2/);
    expect(() => parseTemplate("{{/each}}", { source: "t.txt" })).toThrow(ConfigError);
    expect(() => parseTemplate("a\nb {{missing}}", { source: "t.txt" }).render({})).toThrow(
      /t\.txt:2: unknown template variable "missing"/,
    );
  });

  it("lists the names used outside each blocks", () => {
    expect([...parseTemplate("{{a}}{{#if b}}{{c}}{{/if}}{{#each d}}{{e}}{{/each}}").names].sort()).toEqual([
      "a",
      "b",
      "c",
      "d",
    ]);
  });

  it("gives the first line of each name", () => {
    expect([...parseTemplate("{{a}}\n{{#if b}}\n{{a}} {{c}}\n{{/if}}").nameLines]).toEqual([
      ["a", 1],
      ["b", 2],
      ["c", 3],
    ]);
  });
});
