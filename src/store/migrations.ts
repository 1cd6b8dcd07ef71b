import { CORE_SCHEMA_SQL, RETRY_LEDGER_SQL, SCORE_CACHE_SQL } from "./core-schema.js";
import { EVALUATION_SCHEMA_SQL } from "./evaluation-schema.js";
import { JUDGE_SCHEMA_SQL } from "./judge-schema.js";
import { PROVENANCE_SCHEMA_SQL } from "./provenance-schema.js";
import { SIMULATION_SCHEMA_SQL } from "./simulation-schema.js";

/** One schema change. Versions are applied in increasing order, each inside one transaction. */
export interface Migration {
  /** Unique, increasing from 1; recorded in SQLite's `user_version`. */
  version: number;
  name: string;
  sql: string;
}

/** Every migration, in order. Append only: never edit one that has shipped. */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: "core", sql: CORE_SCHEMA_SQL },
  { version: 2, name: "simulation", sql: SIMULATION_SCHEMA_SQL },
  { version: 3, name: "retry ledger", sql: RETRY_LEDGER_SQL },
  { version: 4, name: "score cache", sql: SCORE_CACHE_SQL },
  { version: 5, name: "evaluation", sql: EVALUATION_SCHEMA_SQL },
  { version: 6, name: "judges", sql: JUDGE_SCHEMA_SQL },
  { version: 7, name: "provenance", sql: PROVENANCE_SCHEMA_SQL },
];
