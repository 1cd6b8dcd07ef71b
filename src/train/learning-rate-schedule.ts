/**
 * Linear warmup then cosine decay to zero, as Hugging Face's `get_cosine_schedule_with_warmup`
 * computes it: at optimizer step k (from 0) of `totalSteps`, with W = ceil(warmup * totalSteps),
 * rate = peak * k / W while k < W, then peak * 0.5 * (1 + cos(pi * (k - W) / (totalSteps - W))).
 */
export function learningRateAt({
  step,
  totalSteps,
  peak,
  warmup,
}: {
  /** Optimizer steps already taken (0 for the first). */
  step: number;
  totalSteps: number;
  /** Peak learning rate. */
  peak: number;
  /** Share of the steps spent warming up, in [0, 1). */
  warmup: number;
}): number {
  const warmupSteps = Math.ceil(warmup * totalSteps);
  if (step < warmupSteps) return (peak * step) / Math.max(1, warmupSteps);
  const progress = (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
  return Math.max(0, peak * 0.5 * (1 + Math.cos(Math.PI * progress)));
}
