import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { ensureHhRlhfDataset, loadHhRlhfQuestions } from "./hh-rlhf-dataset.js";

const directory = () => mkdtempSync(join(tmpdir(), "hh-rlhf-dataset-"));
const dialogue = (...turns: string[]) =>
  turns.map((text, index) => `\n\n${index % 2 === 0 ? "Human" : "Assistant"}: ${text}`).join("");

describe("the HH-RLHF download", () => {
  it("downloads the two files once into the cache and reads questions from the test split", async () => {
    const cacheDirectory = directory();
    const file = gzipSync(
      `${JSON.stringify({ chosen: dialogue("Why is the sky blue?", "Scattering."), rejected: dialogue("Why is the sky blue?", "Dunno.") })}\n`,
    );
    const urls: string[] = [];
    const fetch = async (url: string) => {
      urls.push(url);
      return new Response(file, { status: 200, headers: { "content-length": String(file.length) } });
    };
    const dataset = await ensureHhRlhfDataset({ cacheDirectory, fetch, endpoint: "http://127.0.0.1:9" });
    expect(urls).toEqual([
      "http://127.0.0.1:9/datasets/Anthropic/hh-rlhf/resolve/main/harmless-base/train.jsonl.gz",
      "http://127.0.0.1:9/datasets/Anthropic/hh-rlhf/resolve/main/harmless-base/test.jsonl.gz",
    ]);
    await ensureHhRlhfDataset({ cacheDirectory, fetch });
    expect(urls).toHaveLength(2);
    expect(await loadHhRlhfQuestions({ path: dataset.questionsPath })).toEqual(["Why is the sky blue?"]);
    expect(readdirSync(join(cacheDirectory, "datasets", "hh-rlhf")).sort()).toEqual([
      "harmless-base-test.jsonl.gz",
      "harmless-base-train.jsonl.gz",
    ]);
    const failing = async () => new Response("nope", { status: 404 });
    await expect(ensureHhRlhfDataset({ cacheDirectory: directory(), fetch: failing })).rejects.toThrow(/HTTP 404/);
    // A body that is not gzip leaves no file and no temporary file behind.
    const notGzip = directory();
    const html = async () => new Response("<html>", { status: 200 });
    await expect(ensureHhRlhfDataset({ cacheDirectory: notGzip, fetch: html })).rejects.toThrow(
      /did not return a gzip/,
    );
    expect(readdirSync(join(notGzip, "datasets", "hh-rlhf"))).toEqual([]);
  });
});
