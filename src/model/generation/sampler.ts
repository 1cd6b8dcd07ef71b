/**
 * Next-token choice from logits: greedy at temperature 0, else temperature-scaled softmax cut to the
 * nucleus (top-p) and sampled with a seeded generator, so the same seed gives the same text.
 */
import type { Random } from "../../engine/index.js";

/** How to pick tokens. */
export interface SamplerOptions {
  /** Softmax temperature; 0 picks the most likely token (ties: lowest id). Default 1. */
  temperature?: number;
  /** Nucleus mass in (0, 1]: sample among the most likely tokens whose probabilities sum to it. Default 1. */
  topP?: number;
}

/** The id with the highest logit (lowest id on ties). */
export function argmax(logits: Float32Array): number {
  let best = 0;
  let bestValue = Number.NEGATIVE_INFINITY;
  for (let index = 0; index < logits.length; index++) {
    const value = logits[index] as number;
    if (value > bestValue) {
      bestValue = value;
      best = index;
    }
  }
  return best;
}

/** Picks the next token from `logits` [vocabulary]. */
export function sampleToken({
  logits,
  random,
  temperature = 1,
  topP = 1,
}: SamplerOptions & { logits: Float32Array; random: Random }): number {
  if (!(temperature >= 0)) throw new RangeError(`temperature must be >= 0, got ${temperature}`);
  if (!(topP > 0 && topP <= 1)) throw new RangeError(`topP must be in (0, 1], got ${topP}`);
  if (temperature === 0) return argmax(logits);
  const maximum = logits[argmax(logits)] as number;
  const probabilities = new Float64Array(logits.length);
  let sum = 0;
  for (let index = 0; index < logits.length; index++) {
    const value = Math.exp(((logits[index] as number) - maximum) / temperature);
    probabilities[index] = value;
    sum += value;
  }
  let candidates: number[];
  if (topP < 1) {
    const order = Array.from({ length: logits.length }, (_, index) => index).sort(
      (first, second) => (probabilities[second] as number) - (probabilities[first] as number) || first - second,
    );
    candidates = [];
    let mass = 0;
    for (const index of order) {
      candidates.push(index);
      mass += (probabilities[index] as number) / sum;
      if (mass >= topP) break;
    }
  } else {
    candidates = Array.from({ length: logits.length }, (_, index) => index);
  }
  let candidateMass = 0;
  for (const index of candidates) candidateMass += probabilities[index] as number;
  let threshold = random.nextFloat() * candidateMass;
  for (const index of candidates) {
    threshold -= probabilities[index] as number;
    if (threshold < 0) return index;
  }
  return candidates[candidates.length - 1] as number;
}

/** log softmax(logits)[target], computed stably in float64. */
export function logProbabilityOf(logits: Float32Array, target: number): number {
  let maximum = Number.NEGATIVE_INFINITY;
  for (const value of logits) maximum = Math.max(maximum, value);
  let sum = 0;
  for (const value of logits) sum += Math.exp(value - maximum);
  return (logits[target] as number) - maximum - Math.log(sum);
}
