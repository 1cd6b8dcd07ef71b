import { homedir } from "node:os";
import { join, resolve } from "node:path";

/**
 * The one cache directory for models, datasets and downloads: `$STABLE_ALIGNMENT_CACHE`, else
 * `$XDG_CACHE_HOME/stable-alignment`, else `~/.cache/stable-alignment`. A config file's
 * `cacheDirectory` sits between the first and the others.
 */
export function resolveCacheDirectory({
  environment = process.env,
  configured,
}: {
  environment?: NodeJS.ProcessEnv;
  configured?: string;
} = {}): string {
  const explicit = environment.STABLE_ALIGNMENT_CACHE;
  if (explicit) return resolve(explicit);
  if (configured) return resolve(configured);
  const xdg = environment.XDG_CACHE_HOME;
  if (xdg) return join(resolve(xdg), "stable-alignment");
  return join(homedir(), ".cache", "stable-alignment");
}
