/** A store's usage ledger summed over models and sessions, for the experiment's cost per step. */
import type { Store } from "../store/open-store.js";

/** LM usage: calls (cache hits included, counted in `cachedCalls`), tokens the backends processed, US dollars. */
export interface UsageSummary {
  calls: number;
  cachedCalls: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

/** Sums `store.usageTotals()` over every model. */
export function summarizeUsageLedger(store: Pick<Store, "usageTotals">): UsageSummary {
  const summary: UsageSummary = { calls: 0, cachedCalls: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 };
  for (const row of store.usageTotals()) {
    summary.calls += row.calls;
    summary.cachedCalls += row.cachedCalls;
    summary.promptTokens += row.promptTokens;
    summary.completionTokens += row.completionTokens;
    summary.costUsd += row.costUsd;
  }
  return summary;
}
