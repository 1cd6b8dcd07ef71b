/**
 * Test support: a generation run from the eval fixture, a study made from it, and the web app serving
 * it on 127.0.0.1 with the human-evaluation routes mounted, as `serve` mounts them.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CreatedStudy, createStudy } from "../../../eval/human-eval/create-study.js";
import { writeGenerationFixture } from "../../../eval/human-eval/test-support/generation-fixture.js";
import type { AccessPolicy } from "../../security-middleware.js";
import { startWebServer, type WebServer } from "../../start-web-server.js";
import { createWebApp } from "../../web-app.js";
import { createHumanEvalRoutes, isHumanEvalPublicPath } from "../human-eval-routes.js";
import { findStudyDirectories } from "../study-directories.js";

/** A served study. */
export interface StudyServer {
  root: string;
  server: WebServer;
  created: CreatedStudy;
  /** Path and query of a link, relative to the server (`/studies/...`). */
  pathOf(link: string): string;
}

/** Makes and serves a study of `models` over `items` prompts (2 raters, 2 per item, 50% gold). */
export async function startStudyServer({
  models = ["careful", "reckless"],
  items = 2,
  now,
  policy,
}: {
  models?: string[];
  items?: number;
  now?: () => number;
  /** Default: loopback (no admin token). */
  policy?: AccessPolicy;
} = {}): Promise<StudyServer> {
  const root = mkdtempSync(join(tmpdir(), "human-eval-web-"));
  await writeGenerationFixture({ directory: join(root, "eval"), models });
  const created = await createStudy({
    from: [join(root, "eval")],
    out: join(root, "studies", "pilot"),
    settings: {
      models,
      items,
      perItem: 2,
      raters: 2,
      goldFraction: 0.5,
      seed: 11,
      exclusion: { minGoldAccuracy: 0.75, minSecondsPerItem: 3 },
    },
  });
  const studies = createHumanEvalRoutes({
    studyDirectories: () => findStudyDirectories({ roots: [root] }),
    ...(now === undefined ? {} : { now }),
  });
  const server = await startWebServer({
    webApp: createWebApp({
      runDirectories: [root],
      mounts: [{ path: "/studies", app: studies, isPublicPath: isHumanEvalPublicPath }],
      ...(policy === undefined ? {} : { policy }),
    }),
    port: 0,
  });
  return { root, server, created, pathOf: (link) => link.replace(/^https?:\/\/[^/]+/, "") };
}
