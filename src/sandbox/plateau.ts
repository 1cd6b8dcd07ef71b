/**
 * Stopping at a plateau (SPEC 1.8): the society's score is mean observer alignment x mean observer
 * engagement after revision. A round improves when its score beats the best earlier score by more than
 * `tolerance` (relative); the run stops once `patience` rounds in a row have not improved, and never
 * before `minimumRounds` rounds.
 */

/** Plateau rule settings. */
export interface PlateauSettings {
  /** Relative gain that counts as improvement. Default 0.01 (1%). */
  tolerance: number;
  /** Non-improving rounds in a row before stopping. Default 3. */
  patience: number;
  /** Rounds always run. Default 3. */
  minimumRounds: number;
}

export const DEFAULT_PLATEAU_SETTINGS: PlateauSettings = { tolerance: 0.01, patience: 3, minimumRounds: 3 };

/**
 * Whether the society has stopped improving, given each completed round's score in order (null: no
 * valid observer score that round, which counts as no improvement).
 */
export function reachedPlateau(
  scores: readonly (number | null)[],
  settings: PlateauSettings = DEFAULT_PLATEAU_SETTINGS,
): boolean {
  if (scores.length < settings.minimumRounds) return false;
  let best: number | null = null;
  let stale = 0;
  for (const score of scores) {
    if (score === null) {
      stale += 1;
      continue;
    }
    if (best === null) {
      best = score;
      stale = 0;
      continue;
    }
    const gain = best === 0 ? (score > 0 ? Number.POSITIVE_INFINITY : 0) : (score - best) / Math.abs(best);
    if (gain > settings.tolerance) stale = 0;
    else stale += 1;
    best = Math.max(best, score);
  }
  return stale >= settings.patience;
}
