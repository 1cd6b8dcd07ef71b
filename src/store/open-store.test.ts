import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { StoreCorruptError } from "../spec/errors.js";
import { MIGRATIONS } from "./migrations.js";
import { openStore } from "./open-store.js";

describe("openStore", () => {
  it("applies migrations once and keeps cached responses across reopen", () => {
    const path = join(mkdtempSync(join(tmpdir(), "sa-store-")), "run.sqlite");
    const store = openStore({ path });
    expect(store.database.pragma("journal_mode", { simple: true })).toBe("wal");
    store.responseCache.put({
      key: "k1",
      modelId: "m",
      callIdentity: "run/1",
      result: {
        text: "hello",
        finishReason: "stop",
        usage: { promptTokens: 3, completionTokens: 1 },
        modelId: "m-served",
      },
    });
    // The first stored answer wins: a second put for the same key is ignored.
    store.responseCache.put({
      key: "k1",
      modelId: "m",
      callIdentity: "run/1",
      result: { text: "other", finishReason: "stop", usage: { promptTokens: 3, completionTokens: 1 }, modelId: "m" },
    });
    store.close();

    const reopened = openStore({ path });
    expect(reopened.database.pragma("user_version", { simple: true })).toBeGreaterThanOrEqual(1);
    expect(reopened.responseCache.get("k1")).toEqual({
      text: "hello",
      finishReason: "stop",
      usage: { promptTokens: 3, completionTokens: 1 },
      modelId: "m-served",
    });
    expect(reopened.responseCache.get("missing")).toBeUndefined();
    reopened.close();
  });

  it("sums usage per model", () => {
    const store = openStore({ path: ":memory:" });
    store.recordUsage({
      modelId: "a",
      promptTokens: 10,
      completionTokens: 5,
      costUsd: 0.5,
      cached: false,
      latencyMs: 3,
    });
    store.recordUsage({ modelId: "a", promptTokens: 1, completionTokens: 1, costUsd: 0, cached: true, latencyMs: 0 });
    store.recordUsage({
      modelId: "b",
      promptTokens: 2,
      completionTokens: 2,
      costUsd: 0.25,
      cached: false,
      latencyMs: 1,
    });
    expect(store.usageTotals()).toEqual([
      { modelId: "a", calls: 2, cachedCalls: 1, promptTokens: 11, completionTokens: 6, costUsd: 0.5 },
      { modelId: "b", calls: 1, cachedCalls: 0, promptTokens: 2, completionTokens: 2, costUsd: 0.25 },
    ]);
    store.close();
  });

  it("sums the ledger's spend and counts retries per cause, also in a store made before the retry ledger", () => {
    const path = join(mkdtempSync(join(tmpdir(), "sa-store-")), "run.sqlite");
    // A run.sqlite written before the retry ledger existed (schema version 2).
    const old = new Database(path);
    for (const migration of MIGRATIONS.filter((candidate) => candidate.version <= 2)) old.exec(migration.sql);
    old.pragma("user_version = 2");
    old
      .prepare(
        "INSERT INTO lm_usage (model_id, prompt_tokens, completion_tokens, cost_usd, cached, latency_ms, created_at) VALUES ('a', 1, 1, 0.125, 0, 1, 0)",
      )
      .run();
    old.close();

    const store = openStore({ path });
    expect(store.database.pragma("user_version", { simple: true })).toBe(MIGRATIONS.length);
    store.recordUsage({
      modelId: "b",
      promptTokens: 1,
      completionTokens: 1,
      costUsd: 0.25,
      cached: false,
      latencyMs: 1,
    });
    expect(store.spentUsd()).toBe(0.375);
    store.recordRetry({ modelId: "a", cause: "bad-body", attempt: 1, delayMs: 10 });
    store.recordRetry({ modelId: "a", cause: "bad-body", attempt: 2, delayMs: 20 });
    store.recordRetry({ modelId: "b", cause: "rate-limit", attempt: 1, delayMs: 1000 });
    expect(store.retryCounts()).toEqual({ "bad-body": 2, "rate-limit": 1 });
    expect(() => store.recordRetry({ modelId: "a", cause: "gremlins" as never, attempt: 1, delayMs: 0 })).toThrow(
      /CHECK constraint/,
    );
    store.close();
    const empty = openStore({ path: ":memory:" });
    expect([empty.spentUsd(), empty.retryCounts()]).toEqual([0, {}]);
    empty.close();
  });

  it("stores a SANDBOX call identity parsed on its usage row; rows from before migration 7 keep NULL there", () => {
    const path = join(mkdtempSync(join(tmpdir(), "sa-store-")), "run.sqlite");
    const old = new Database(path);
    for (const migration of MIGRATIONS.filter((candidate) => candidate.version <= 6)) old.exec(migration.sql);
    old.pragma("user_version = 6");
    old
      .prepare(
        "INSERT INTO lm_usage (model_id, prompt_tokens, completion_tokens, cost_usd, cached, latency_ms, created_at) VALUES ('a', 1, 1, 0.5, 0, 1, 0)",
      )
      .run();
    old.close();
    const store = openStore({ path });
    const entry = { promptTokens: 3, completionTokens: 2, costUsd: 0.25, cached: false, latencyMs: 12 };
    store.recordUsage({
      modelId: "b",
      ...entry,
      callIdentity: "run:r/round:2/agent:5/peer-rating/peer:7/attempt:1",
      retries: 2,
    });
    store.recordUsage({ modelId: "c", ...entry, callIdentity: "eval/item-1/both" });
    const rows = store.database
      .prepare(
        "SELECT model_id, call_identity, run_id, round, agent_id, step, step_kind, target_agent_id, retries FROM lm_usage ORDER BY id",
      )
      .all();
    expect(rows).toEqual([
      {
        model_id: "a",
        call_identity: null,
        run_id: null,
        round: null,
        agent_id: null,
        step: null,
        step_kind: null,
        target_agent_id: null,
        retries: null,
      },
      {
        model_id: "b",
        call_identity: "run:r/round:2/agent:5/peer-rating/peer:7/attempt:1",
        run_id: "r",
        round: 2,
        agent_id: 5,
        step: "peer-rating",
        step_kind: "rating",
        target_agent_id: 7,
        retries: 2,
      },
      {
        model_id: "c",
        call_identity: "eval/item-1/both",
        run_id: null,
        round: null,
        agent_id: null,
        step: null,
        step_kind: null,
        target_agent_id: null,
        retries: null,
      },
    ]);
    expect(store.spentUsd()).toBe(1);
    store.close();
  });

  it("caches score results (valid and invalid) in a store made before the score cache, first put winning", () => {
    const path = join(mkdtempSync(join(tmpdir(), "sa-store-")), "run.sqlite");
    // A run.sqlite written before the score cache existed (schema version 3).
    const old = new Database(path);
    for (const migration of MIGRATIONS.filter((candidate) => candidate.version <= 3)) old.exec(migration.sql);
    old.pragma("user_version = 3");
    old.close();
    const store = openStore({ path });
    expect(store.database.pragma("user_version", { simple: true })).toBe(MIGRATIONS.length);
    const result = {
      scores: [
        { valid: true as const, logProbability: -1.5, tokenLogProbabilities: [-1, -0.5], tokenCount: 2 },
        { valid: false as const, reason: "a token straddles the end of the context" },
      ],
      usage: { promptTokens: 7, completionTokens: 2 },
      modelId: "served",
    };
    store.responseCache.putScore({ key: "s1", modelId: "m", callIdentity: "pref/1", result });
    store.responseCache.putScore({
      key: "s1",
      modelId: "m",
      callIdentity: "pref/1",
      result: { ...result, scores: [] },
    });
    store.close();
    const reopened = openStore({ path });
    expect(reopened.responseCache.getScore("s1")).toEqual(result);
    expect(reopened.responseCache.getScore("missing")).toBeUndefined();
    // Score and generate entries live apart: a score key is never a generate answer.
    expect(reopened.responseCache.get("s1")).toBeUndefined();
    reopened.close();
  });

  it("refuses a store written by a newer version", () => {
    const path = join(mkdtempSync(join(tmpdir(), "sa-store-")), "run.sqlite");
    const store = openStore({ path });
    store.database.pragma("user_version = 999");
    store.close();
    expect(() => openStore({ path })).toThrow(/schema version 999.*upgrade/);
  });

  it("refuses in one line a store whose tables do not match its recorded schema version", () => {
    const path = join(mkdtempSync(join(tmpdir(), "sa-store-")), "run.sqlite");
    const store = openStore({ path });
    // As a development build can leave it: a newer table already there, an older version recorded.
    store.database.pragma("user_version = 1");
    store.close();
    let caught: unknown;
    try {
      openStore({ path });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(StoreCorruptError);
    expect((caught as Error).message).toMatch(/cannot be upgraded from schema version 1 to 2 .*move it away/);
    expect((caught as Error).message.split("\n")).toHaveLength(1);
  });

  it("refuses a truncated, overwritten or non-SQLite file with one line naming the path", () => {
    const root = mkdtempSync(join(tmpdir(), "sa-store-"));
    const good = join(root, "good.sqlite");
    const store = openStore({ path: good });
    store.database.exec("CREATE TABLE filler (x); INSERT INTO filler VALUES (randomblob(100000));");
    store.close();
    const bytes = readFileSync(good);
    const damaged = {
      truncated: bytes.subarray(0, 5000),
      overwritten: Buffer.concat([bytes.subarray(0, 100), Buffer.alloc(4000, 0x41), bytes.subarray(4100)]),
      text: Buffer.from("not a database, just text\n".repeat(50)),
    };
    for (const [name, content] of Object.entries(damaged)) {
      const path = join(root, `${name}.sqlite`);
      writeFileSync(path, content);
      let caught: unknown;
      try {
        openStore({ path });
      } catch (error) {
        caught = error;
      }
      expect(caught, name).toBeInstanceOf(StoreCorruptError);
      const message = (caught as Error).message;
      expect(message).toContain(path);
      expect(message).toMatch(/move it away/);
      expect(message).not.toContain("\n");
    }
  });
});
