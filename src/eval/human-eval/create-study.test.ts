import { existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createHumanEvalRepository } from "../../store/human-eval-repository.js";
import { openStore } from "../../store/open-store.js";
import { createStudy, hashToken, STUDY_FILE } from "./create-study.js";
import { readGoldFile } from "./gold-file.js";
import { GOLD_PAIRS } from "./gold-pairs.js";
import { findIdentityWords } from "./identity-words.js";
import type { StudySettings } from "./study-plan.js";
import { writeGenerationFixture } from "./test-support/generation-fixture.js";

const settings = (overrides: Partial<StudySettings> = {}): StudySettings => ({
  models: ["careful", "reckless", "chatty"],
  perItem: 3,
  raters: 4,
  goldFraction: 0.1,
  seed: 7,
  exclusion: { minGoldAccuracy: 0.75, minSecondsPerItem: 3 },
  ...overrides,
});

describe("createStudy", () => {
  it("makes round-robin blind pairs, gold items, per-item raters, hashed tokens and randomised order and sides", async () => {
    const root = mkdtempSync(join(tmpdir(), "human-study-"));
    await writeGenerationFixture({ directory: join(root, "eval") });
    const created = await createStudy({
      from: [join(root, "eval")],
      out: join(root, "study"),
      settings: settings({ items: 4 }),
    });
    // 4 prompts x 3 model pairs = 12 pair items; gold: ceil(10% of 12) = 2.
    expect([created.items, created.goldItems]).toEqual([12, 2]);
    expect(created.raterLinks).toHaveLength(4);
    const tokens = created.raterLinks.map(({ link }) => link.split("/rate/")[1] as string);
    for (const token of tokens) expect(token).toMatch(/^[A-Za-z0-9_-]{22}$/); // 128 bits, base64url
    expect(created.adminLink).toMatch(/^http:\/\/127\.0\.0\.1:7860\/studies\/study\/admin\?token=[A-Za-z0-9_-]{22}$/);

    const store = openStore({ path: join(root, "study", STUDY_FILE) });
    const repository = createHumanEvalRepository({ database: store.database });
    const raters = repository.loadRaters();
    expect(raters.map((rater) => rater.tokenSha256)).toEqual(tokens.map(hashToken));
    const fileBytes = store.database.prepare("SELECT * FROM human_raters").all();
    expect(JSON.stringify(fileBytes)).not.toContain(tokens[0]);
    const items = repository.loadItems();
    const pairs = items.filter((item) => item.kind === "pair");
    const pairsOfModels = new Set(pairs.map((item) => `${item.firstModel}|${item.secondModel}`));
    expect([...pairsOfModels].sort()).toEqual(["careful|chatty", "careful|reckless", "reckless|chatty"].sort());
    const assignments = repository.loadAllAssignments();
    for (const pair of pairs) expect(assignments.filter((entry) => entry.itemId === pair.itemId)).toHaveLength(3);
    for (const gold of items.filter((item) => item.kind === "gold")) {
      expect(assignments.filter((entry) => entry.itemId === gold.itemId)).toHaveLength(4);
    }
    const orders = raters.map(({ raterId }) => repository.loadAssignments(raterId).map((entry) => entry.itemId));
    expect(new Set(orders.map((order) => order.join())).size).toBe(4);
    const sides = assignments.map((entry) => entry.swapped);
    expect(sides.some(Boolean) && sides.some((side) => !side)).toBe(true);
    expect(repository.loadStudy()?.config).toMatchObject({ seed: 7, exclusion: { minGoldAccuracy: 0.75 } });
    store.close();
    await expect(
      createStudy({ from: [join(root, "eval")], out: join(root, "study"), settings: settings({ items: 4 }) }),
    ).rejects.toThrow(/is not empty: a study is never replaced/);
  });

  it("refuses unknown models and leaves nothing behind", async () => {
    const root = mkdtempSync(join(tmpdir(), "human-study-"));
    await writeGenerationFixture({ directory: join(root, "eval"), models: ["careful", "reckless"] });
    await expect(
      createStudy({
        from: [join(root, "eval")],
        out: join(root, "study"),
        settings: settings({ models: ["careful", "nobody"] }),
      }),
    ).rejects.toThrow(/--models nobody not found/);
    expect(existsSync(join(root, "study"))).toBe(false);
    await expect(
      createStudy({
        from: [join(root, "eval")],
        out: join(root, "study"),
        settings: settings({ models: ["careful", "reckless"], perItem: 5 }),
      }),
    ).rejects.toThrow(/--per-item 5 is more than --raters 4/);
    expect(readdirSync(root)).toEqual(["eval"]);
  });
});

describe("gold pairs", () => {
  it("ships at least 20 pairs and reads a user's own file, naming file, line and field on bad input", async () => {
    expect(GOLD_PAIRS.length).toBeGreaterThanOrEqual(20);
    expect(new Set(GOLD_PAIRS.map((pair) => pair.id)).size).toBe(GOLD_PAIRS.length);
    const directory = mkdtempSync(join(tmpdir(), "gold-"));
    const file = join(directory, "gold.jsonl");
    writeFileSync(file, '{"question":"q","better":"good","worse":"bad"}\n{"question":"q2","better":"fine"}\n');
    await expect(readGoldFile({ path: file })).rejects.toThrow(`${file}:2: field "worse" is missing`);
    writeFileSync(file, '{"question":"q","better":"good","worse":"bad","id":"mine"}\n');
    expect(await readGoldFile({ path: file })).toEqual([{ id: "mine", question: "q", better: "good", worse: "bad" }]);
  });
});

describe("findIdentityWords", () => {
  it("flags self-identification and model names, not ordinary words", () => {
    expect(findIdentityWords({ text: "As an AI developed by OpenAI, I cannot." })).toEqual([
      "as an ai developed by",
      "openai",
    ]);
    expect(findIdentityWords({ text: "I am Qwen-7B here to help", models: ["local:./models/qwen-7b"] })).toEqual([
      "qwen",
      "qwen-7b",
    ]);
    expect(findIdentityWords({ text: "Egypt has a long history of llamas? no: camels." })).toEqual([]);
  });
});
