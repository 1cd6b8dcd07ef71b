/**
 * Writes the golden resume run directory (see golden-run.ts): `npx tsx src/sandbox/test-support/make-golden-run.ts`.
 * Run it only to remake the fixture on purpose; the committed one was made before the refactor it guards.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { goldenFailingCall, goldenRunDirectory, runGolden } from "./golden-run.js";
import { startSocietyServer } from "./society-server.js";

const society = await startSocietyServer();
try {
  const interrupted = mkdtempSync(join(tmpdir(), "golden-run-"));
  await runGolden({ society, directory: interrupted, failAt: goldenFailingCall }).then(
    () => {
      throw new Error("the golden run was meant to fail part-way");
    },
    (error: unknown) => {
      if (!(error instanceof Error) || !error.message.includes("endpoint went away")) throw error;
    },
  );
  const expected = await runGolden({ society });
  rmSync(goldenRunDirectory, { recursive: true, force: true });
  mkdirSync(goldenRunDirectory, { recursive: true });
  for (const name of ["run.sqlite", "config.json", "records.jsonl"]) {
    copyFileSync(join(interrupted, name), join(goldenRunDirectory, name));
  }
  writeFileSync(
    join(goldenRunDirectory, "expected-records.jsonl"),
    expected.map((record) => `${JSON.stringify({ ...record, timings: undefined })}\n`).join(""),
  );
} finally {
  await society.close();
}
