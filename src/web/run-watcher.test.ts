import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openStore } from "../store/open-store.js";
import { createSimulationRepository } from "../store/simulation-repository.js";
import { createRunCatalog } from "./run-catalog.js";
import type { RunUpdate } from "./run-watcher.js";
import { writeSyntheticSociety } from "./test-support/synthetic-society.js";

describe("run watcher", () => {
  it("shares one poller per run among its clients and reports a round another connection completes", async () => {
    const root = mkdtempSync(join(tmpdir(), "web-watcher-"));
    const directory = join(root, "society");
    const { runId } = writeSyntheticSociety({ directory, size: 2, rounds: 1 });
    const catalog = createRunCatalog({ roots: [root], pollIntervalMs: 20 });
    try {
      const [entry] = catalog.list();
      expect(entry?.kind).toBe("simulation");
      expect(entry?.status).toBe("finished");
      if (!entry) return;
      const first: RunUpdate[] = [];
      const second: RunUpdate[] = [];
      const stopFirst = catalog.watch(entry, (update) => first.push(update));
      const stopSecond = catalog.watch(entry, (update) => second.push(update));
      expect(catalog.activeWatchers()).toBe(1);

      // A writer (as simulate) completes round 1 while the catalog's read-only connection is open.
      const store = openStore({ path: join(directory, "run.sqlite") });
      const repository = createSimulationRepository(store.database);
      repository.completeRound({ runId, round: 1, summary: {}, recordsBytes: 0 });
      store.close();
      const deadline = Date.now() + 10_000;
      while ((first.length === 0 || second.length === 0) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(first).toEqual([{ status: "finished", latestRound: 1 }]);
      expect(second).toEqual(first);

      stopFirst();
      expect(catalog.activeWatchers()).toBe(1);
      stopSecond();
      expect(catalog.activeWatchers()).toBe(0);
    } finally {
      catalog.close();
    }
  });
});
