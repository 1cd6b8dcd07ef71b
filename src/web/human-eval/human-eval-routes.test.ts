import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StudyServer, startStudyServer } from "./test-support/study-server.js";

let served: StudyServer;
let clock = 0;

beforeAll(async () => {
  served = await startStudyServer({ now: () => clock });
});
afterAll(async () => {
  await served.server.close();
});

const get = async (path: string) => {
  const response = await fetch(`${served.server.url}${path}`, { redirect: "manual" });
  return { status: response.status, html: await response.text(), headers: response.headers };
};
const post = async (path: string, fields: Record<string, string>) => {
  const response = await fetch(`${served.server.url}${path}`, {
    method: "POST",
    body: new URLSearchParams(fields),
    redirect: "manual",
  });
  return { status: response.status, text: await response.text(), location: response.headers.get("location") };
};
const raterPath = (index: number) => served.pathOf(served.created.raterLinks[index]?.link as string);
const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)?.[1] as string;

describe("rater pages", () => {
  it("show answers A and B only: no model name, no item kind, no item id; strict CSP", async () => {
    const overview = await get(raterPath(0));
    expect(overview.status).toBe(200);
    expect(overview.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(overview.html).toContain("0 of 3 done"); // 2 pair items + 1 gold item (every rater sees gold)
    const item = await get(`${raterPath(0)}/items/1`);
    expect(item.status).toBe(200);
    for (const secret of ["careful", "reckless", "gold", "pair-", "rater-"]) expect(item.html).not.toContain(secret);
    expect(item.html).toContain('id="answer-a"');
    expect(item.html).toContain('<script src="/studies/static/human-eval.js" defer=""></script>');
    expect(item.html).not.toMatch(/<script>(?!<\/script>)/);
  });

  it("take a vote only with the rater's CSRF token, then redirect to the next item (POST-redirect-GET)", async () => {
    const item = await get(`${raterPath(0)}/items/1`);
    const refused = await post(`${raterPath(0)}/items/1`, { choice: "A" });
    expect(refused.status).toBe(403);
    expect(refused.text).toContain("CSRF");
    const forged = await post(`${raterPath(0)}/items/1`, { choice: "A", csrf: "x".repeat(43) });
    expect(forged.status).toBe(403);
    expect((await get(raterPath(0))).html).toContain("0 of 3 done");
    clock = 12_000;
    const saved = await post(`${raterPath(0)}/items/1`, {
      choice: "A",
      ratingA: "6",
      reason: "clearer",
      csrf: csrfOf(item.html),
    });
    expect(saved.status).toBe(303);
    expect(saved.location).toBe(`${raterPath(0)}/items/2`);
    expect((await get(raterPath(0))).html).toContain("1 of 3 done");
    const again = await get(`${raterPath(0)}/items/1`);
    expect(again.html).toMatch(/value="A" required="" checked=""/);
    expect(again.html).toContain("clearer");
  });

  it("name the field of a bad vote in one line and keep nothing", async () => {
    const item = await get(`${raterPath(0)}/items/2`);
    const bad = await post(`${raterPath(0)}/items/2`, { choice: "A", ratingB: "9", csrf: csrfOf(item.html) });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain("rating: must be a whole number from 1 to 7");
    expect((await get(raterPath(0))).html).toContain("1 of 3 done");
  });

  it("keep raters apart: a second rater neither sees nor changes the first's votes", async () => {
    const second = await get(raterPath(1));
    expect(second.html).toContain("0 of 3 done");
    for (let number = 1; number <= 3; number += 1) {
      const page = await get(`${raterPath(1)}/items/${number}`);
      expect(page.html).not.toContain("clearer");
      expect(page.html).not.toContain('checked=""');
    }
    const firstCsrf = csrfOf((await get(`${raterPath(0)}/items/1`)).html);
    const crossed = await post(`${raterPath(1)}/items/1`, { choice: "B", csrf: firstCsrf });
    expect(crossed.status).toBe(403);
    expect((await get(raterPath(0))).html).toContain("1 of 3 done");
    expect((await get(`${raterPath(0)}/items/1`)).html).toMatch(/value="A" required="" checked=""/);
  });

  it("answer an unknown token, study or item with the same 404", async () => {
    const unknown = raterPath(0).replace(/rate\/.*/, `rate/${"A".repeat(22)}`);
    expect((await get(unknown)).status).toBe(404);
    expect((await get(raterPath(0).replace("/pilot/", "/other/"))).status).toBe(404);
    expect((await get(`${raterPath(0)}/items/99`)).status).toBe(404);
  });
});

describe("admin page", () => {
  it("needs the study's admin token and shows progress, agreement and win rates", async () => {
    const admin = served.pathOf(served.created.adminLink);
    expect((await get(admin.replace(/token=.*/, "token=wrong"))).status).toBe(401);
    expect((await get(admin.replace(/\?token=.*/, ""))).status).toBe(401);
    const page = await get(admin);
    expect(page.status).toBe(200);
    expect(page.html).toContain("Fleiss&#39; kappa");
    expect(page.html).toContain("Krippendorff&#39;s alpha, ordinal");
    expect(page.html).toMatch(/<td>rater-1<\/td><td>1 \/ 3<\/td><td>12\.0<\/td>/);
    expect(page.html).toContain("careful");
  });
});

describe("off loopback (admin token policy)", () => {
  it("rater links work with only the rater's token; the admin page and the rest of the app need the admin token", async () => {
    const adminToken = "t".repeat(32);
    const remote = await startStudyServer({ policy: { kind: "token", adminToken } });
    try {
      const base = remote.server.url;
      const rater = remote.pathOf(remote.created.raterLinks[0]?.link as string);
      const overview = await fetch(`${base}${rater}`, { redirect: "manual" });
      expect(overview.status).toBe(200);
      const item = await fetch(`${base}${rater}/items/1`, { redirect: "manual" });
      expect(item.status).toBe(200);
      const csrf = /name="csrf" value="([^"]+)"/.exec(await item.text())?.[1] as string;
      const vote = await fetch(`${base}${rater}/items/1`, {
        method: "POST",
        body: new URLSearchParams({ choice: "tie", csrf }),
        redirect: "manual",
      });
      expect(vote.status).toBe(303);
      expect((await fetch(`${base}/studies/static/human-eval.js`)).status).toBe(200);
      const admin = remote.pathOf(remote.created.adminLink);
      expect((await fetch(`${base}${admin}`, { redirect: "manual" })).status).toBe(401);
      const withToken = await fetch(`${base}${admin}`, { headers: { authorization: `Bearer ${adminToken}` } });
      expect(withToken.status).toBe(200);
      expect((await fetch(`${base}/`, { redirect: "manual" })).status).toBe(401);
      expect((await fetch(`${base}${rater}/../../admin`, { redirect: "manual" })).status).toBe(401);
    } finally {
      await remote.server.close();
    }
  });
});
