/** SFT: the mean token NLL of the best-rated response (first on ties); the others are ignored. */
import { bestIndex, type ObjectiveValue, type RatedResponse } from "./rated-response.js";

/** SFT on the best response of one prompt. Throws RangeError for an empty list (a caller bug). */
export function sftObjective({ responses }: { responses: readonly RatedResponse[] }): ObjectiveValue {
  if (responses.length === 0) throw new RangeError("sft needs at least one response");
  const best = bestIndex(responses);
  const loss = (responses[best] as RatedResponse).meanNll;
  const gradients = responses.map((_, index): number => (index === best ? 1 : 0));
  return { loss, gradients, terms: { sft: loss } };
}
