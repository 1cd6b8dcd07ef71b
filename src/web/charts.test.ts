import { describe, expect, it } from "vitest";
import { BarChart, HeatMap, LineChart, scoreColor } from "./charts.js";

describe("charts", () => {
  it("colours scores red to green, grey when missing, clamped outside 1-7", () => {
    expect(scoreColor(1)).toBe("#d73027");
    expect(scoreColor(4)).toBe("#fee08b");
    expect(scoreColor(7)).toBe("#1a9850");
    expect(scoreColor(null)).toBe("#d0d0d0");
    expect(scoreColor(Number.NaN)).toBe("#d0d0d0");
    expect(scoreColor(12)).toBe(scoreColor(7));
  });

  it("draws one linked, titled square per agent with escaped links, and a dot for initially bad agents", () => {
    const svg = String(
      HeatMap({
        cells: [
          { agentId: 0, row: 0, col: 0, label: "good", score: 7 },
          { agentId: 1, row: 0, col: 1, label: "bad", score: null },
        ],
        size: 2,
        hrefOf: (cell) => `/agents/${cell.agentId}?a="<x>"&b`,
      }),
    );
    expect(svg.match(/<rect /g)).toHaveLength(2);
    expect(svg.match(/<circle /g)).toHaveLength(1);
    expect(svg).toContain('href="/agents/1?a=&quot;&lt;x&gt;&quot;&amp;b"');
    expect(svg).toContain("<title>agent 1 (bad): no score</title>");
    expect(svg).toContain('fill="#1a9850"');
  });

  it("breaks a line where a value is missing, bands intervals, escapes names and says when there is no data", () => {
    const svg = String(
      LineChart({
        title: "t<script>",
        series: [
          {
            name: "a&b",
            points: [
              { x: 0, y: 1, lower: 0.5, upper: 1.5 },
              { x: 1, y: 2, lower: 1.5, upper: 2.5 },
              { x: 2, y: null },
              { x: 3, y: 3 },
              { x: 4, y: 4 },
            ],
          },
        ],
      }),
    );
    expect(svg.match(/<polyline /g)).toHaveLength(2);
    expect(svg.match(/<polygon /g)).toHaveLength(1);
    expect(svg).toContain("t&lt;script&gt;");
    expect(svg).toContain("a&amp;b");
    expect(svg).not.toContain("no data yet");
    expect(String(LineChart({ title: "empty", series: [{ name: "x", points: [] }] }))).toContain("no data yet");
  });

  it("renders the evaluation report's bar chart with its labels escaped", () => {
    const svg = String(BarChart({ title: "mc1", bars: [{ label: "<b>m</b>", value: 0.5, lower: 0.4, upper: 0.6 }] }));
    expect(svg).toContain("&lt;b&gt;m&lt;/b&gt;");
    expect(svg).toContain('class="whisker"');
  });
});
