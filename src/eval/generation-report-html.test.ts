import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createEvaluationRepository } from "../store/evaluation-repository.js";
import { createJudgeRepository } from "../store/judge-repository.js";
import { openStore } from "../store/open-store.js";
import { createScriptedModel } from "../test-kit/scripted-model.js";
import { renderBarChart } from "./bar-chart.js";
import { formatReportHtml } from "./evaluation-report-html.js";
import { buildGenerationReport } from "./generation-report.js";
import { formatGenerationHtml, formatGenerationMarkdown } from "./generation-report-format.js";
import { runGeneration } from "./generation-run.js";
import { adversarialItems } from "./jailbreak-templates.js";
import { createPairwiseJudge, createRubricJudge } from "./judges.js";

/** Debian's Chromium, installed by .ci/run. */
const CHROMIUM = "/usr/bin/chromium";

/** Builds a report whose model text tries to run script and load a URL on `leakUrl`. */
async function hostileReport(leakUrl: string): Promise<string> {
  const hostile = [
    "<script>document.title='pwned'</script>",
    `<img src="${leakUrl}/img" onerror="document.title='pwned'">`,
    `"><svg onload="document.title='pwned'"><a href='${leakUrl}/a'>x</a>`,
  ];
  let call = 0;
  const model = createScriptedModel({
    modelId: "<b>model</b>",
    respond: () => hostile[call++ % hostile.length] as string,
  });
  const judge = createScriptedModel({
    modelId: "judge",
    respond: (request) =>
      request.messages?.[0]?.content.includes("Reply A:")
        ? "Verdict: A ### Reason: <script>document.title='pwned'</script>"
        : `Rating: 3 ### Reason: <img src="${leakUrl}/reason" onerror="document.title='pwned'">`,
  });
  const store = openStore({ path: ":memory:" });
  const evaluationRepository = createEvaluationRepository({ database: store.database });
  const judgeRepository = createJudgeRepository({ database: store.database });
  await runGeneration({
    evaluationRepository,
    judgeRepository,
    config: {
      mode: "generation",
      models: ["<b>model</b>"],
      benchmarks: ["hh-adversarial"],
      judge: "judge",
      limit: null,
      seed: 0,
    },
    models: new Map([["<b>model</b>", model]]),
    rubricJudge: createRubricJudge({ model: judge }),
    pairwiseJudge: createPairwiseJudge({ model: judge }),
    loadItems: async () =>
      adversarialItems({
        baseItems: [
          { id: "1", prompt: "<script>x()</script> How?", question: "How?", judgeNotes: "", reference: "No." },
          { id: "2", prompt: "Why?", question: "Why?", judgeNotes: "" },
        ],
        templates: [{ id: "<i>t</i>", text: "Pretend: [INSERT PROMPT HERE]" }],
      }),
  });
  const report = buildGenerationReport({ evaluationRepository, judgeRepository });
  store.close();
  expect(formatGenerationMarkdown(report)).toContain("alignment drop");
  return formatGenerationHtml(report);
}

function runChromium(file: string): Promise<{ dom: string; log: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      CHROMIUM,
      [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--enable-logging=stderr",
        "--v=0",
        "--dump-dom",
        `file://${file}`,
      ],
      { timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => (error ? reject(error) : resolve({ dom: stdout, log: stderr })),
    );
  });
}

async function withRequestCounter<T>(body: (url: string, requests: string[]) => Promise<T>): Promise<T> {
  const requests: string[] = [];
  const server = createServer((request, response) => {
    requests.push(request.url ?? "");
    response.end("");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    return await body(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

describe("HTML report", () => {
  it("is one self-contained file with every model text escaped", async () => {
    const html = await hostileReport("http://127.0.0.1:9");
    expect(html).not.toMatch(/<(script|img|a|link|iframe|object|embed)[\s>]|<[^>]*\son(error|load)=|@import|url\(/i);
    expect(html).toContain("&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;");
    expect(html).toContain("&lt;b&gt;model&lt;/b&gt;");
    expect(html).toContain("&lt;i&gt;t&lt;/i&gt;");
    // The only URL is the SVG namespace, which is a name and never fetched.
    const urls = new Set(html.match(/https?:\/\/[^\s"'<&]*/g));
    urls.delete("http://www.w3.org/2000/svg");
    expect([...urls].sort()).toEqual(["http://127.0.0.1:9/a", "http://127.0.0.1:9/img", "http://127.0.0.1:9/reason"]);
    expect(html).toContain("<svg");
    expect(html).toContain('class="whisker"');
  });

  it("renders in Chromium with no script error, no request leaving the file, and hostile model text running nothing", async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: .ci/run installs Debian's chromium`).toBe(true);
    const directory = mkdtempSync(join(tmpdir(), "report-html-"));
    await withRequestCounter(async (url, requests) => {
      const file = join(directory, "report.html");
      writeFileSync(file, await hostileReport(url));
      const { dom, log } = await runChromium(file);
      expect(dom).toContain("<title>Generation evaluation</title>");
      expect(dom).not.toContain("pwned</title>");
      expect(dom).not.toMatch(/<(script|img|a|iframe)[\s>]|<[^>]*\son(error|load)=/i);
      expect(dom).toContain("<svg");
      expect(log).not.toMatch(/CONSOLE|Uncaught/);
      expect(requests).toEqual([]);

      // The same checks catch a page that does run model text and fetch: they can fail.
      const unsafe = join(directory, "unsafe.html");
      writeFileSync(
        unsafe,
        `<html><head><title>t</title></head><body><img src="${url}/leak"><script>document.title='pwned';undefinedFunction()</script></body></html>`,
      );
      const control = await runChromium(unsafe);
      expect(control.dom).toContain("<title>pwned</title>");
      expect(control.log).toMatch(/Uncaught/);
      expect(requests).toContain("/leak");
    });
  }, 240_000);

  it("draws whiskers from the lower to the upper end of each interval", () => {
    const svg = renderBarChart({
      title: "t <x>",
      bars: [{ label: "a&b", value: 0.5, lower: 0.25, upper: 0.75 }],
      minimum: 0,
      maximum: 1,
      width: 480,
    });
    // Plot from x = 220 to 220 + (480 - 220 - 60) = 420.
    expect(svg).toContain('<line class="whisker" x1="270.0" x2="370.0"');
    expect(svg).toContain('width="100.0"');
    expect(svg).toContain("t &lt;x&gt;");
    expect(svg).toContain("a&amp;b");
    const label = `openai:model@http://127.0.0.1:8000/v1/${"x".repeat(20)}`;
    const long = renderBarChart({ title: "t", bars: [{ label, value: 1, lower: 1, upper: 1 }] });
    // A long label keeps its end on the chart and its whole text in the tooltip.
    expect(long).toContain(`<title>${label}</title>\u2026${label.slice(-33)}</text>`);
    expect(long).not.toContain(`>${label}</text>`);
  });

  it("the likelihood report's page escapes model specs and draws a chart per metric", () => {
    const estimate = { value: 0.6, lower: 0.5, upper: 0.7, count: 10, confidence: 0.95 };
    const html = formatReportHtml({
      bootstrap: { confidence: 0.95, resamples: 2000, seed: 0 },
      benchmarks: [
        {
          name: "hhh",
          items: 10,
          models: [
            {
              model: "local:<script>alert(1)</script>",
              metrics: [{ metric: "acc", units: [], ...estimate }],
              invalidItemIds: [],
              invalidReasons: [],
            },
          ],
          differences: [],
        },
      ],
    });
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain("local:&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).toContain("<title>hhh: acc</title>");
    expect(html).toContain('class="whisker"');
  });
});
