/**
 * Reading a rating out of model text (SPEC 1.6 steps 2, 4, 7). Models served without a constraint
 * write the number in many shapes, and restate the scale around it ("Rating (1-7): 5"), so the
 * parser takes only the number that follows a rating label (or a bare `N/7`, or a reply that is just
 * the number) and returns invalid when it is unsure: no candidate, a range, a decimal, another
 * scale, or two different numbers. An invalid reply is asked again by requestRating; a guessed
 * number would silently bias every average built on it.
 */

/** The rating scale, inclusive. Default 1..7. */
export interface RatingScale {
  minimum: number;
  maximum: number;
}

/** The default scale, 1..7 (SPEC 1.6). */
export const DEFAULT_RATING_SCALE: RatingScale = { minimum: 1, maximum: 7 };

/** A parsed reply: the rating and reason, or why it could not be read. */
export type ParsedRating = { valid: true; rating: number; reason: string } | { valid: false; problem: string };

/** One place where the text states a rating: a whole number, or something unusable ("unsure"). */
interface Candidate {
  value: number | "unsure";
  /** Why the candidate is unsure. */
  problem?: string;
  start: number;
  end: number;
  /** The reason given next to it, when the source says (a JSON `reason` field). */
  reason?: string;
}

/** Stands in for a masked character; not a digit, letter or separator the patterns look for. */
const MASK = "\u2591";

/** Same-length replacement, so positions in the masked text are positions in the original. */
function mask(text: string, pattern: RegExp): string {
  return text.replace(pattern, (found) => MASK.repeat(found.length));
}

/** Finds balanced `{...}` spans (outside JSON strings) that parse as JSON objects. */
function jsonObjects(text: string): { start: number; end: number; value: Record<string, unknown> }[] {
  const found: { start: number; end: number; value: Record<string, unknown> }[] = [];
  let index = 0;
  while (index < text.length) {
    const start = text.indexOf("{", index);
    if (start === -1) break;
    let depth = 0;
    let inString = false;
    let end = -1;
    for (let position = start; position < text.length; position += 1) {
      const character = text[position];
      if (inString) {
        if (character === "\\") position += 1;
        else if (character === '"') inString = false;
      } else if (character === '"') inString = true;
      else if (character === "{") depth += 1;
      else if (character === "}") {
        depth -= 1;
        if (depth === 0) {
          end = position + 1;
          break;
        }
      }
    }
    if (end === -1) break;
    try {
      const value: unknown = JSON.parse(text.slice(start, end));
      if (typeof value === "object" && value !== null && !Array.isArray(value)) {
        found.push({ start, end, value: value as Record<string, unknown> });
        index = end;
        continue;
      }
    } catch {
      // Not JSON: look for an object starting further on.
    }
    index = start + 1;
  }
  return found;
}

function jsonCandidate(
  span: { start: number; end: number; value: Record<string, unknown> },
  scale: RatingScale,
): Candidate | undefined {
  const keys = Object.keys(span.value);
  const ratingKey = keys.find((key) => /^(rating|score)$/i.test(key));
  if (ratingKey === undefined) return undefined;
  const reasonKey = keys.find((key) => /^(reason|explanation|rationale|justification)$/i.test(key));
  const reasonValue = reasonKey === undefined ? undefined : span.value[reasonKey];
  const reason = typeof reasonValue === "string" ? reasonValue.trim() : "";
  const raw = span.value[ratingKey];
  const where = { start: span.start, end: span.end, reason };
  if (typeof raw === "number") {
    return Number.isInteger(raw)
      ? { ...where, value: raw }
      : { ...where, value: "unsure", problem: `rating ${raw} is not a whole number` };
  }
  if (typeof raw === "string") {
    const match = new RegExp(`^\\s*(-?\\d+)\\s*(?:/\\s*${scale.maximum}|out of ${scale.maximum})?\\s*$`, "i").exec(raw);
    if (match !== null) return { ...where, value: Number(match[1]) };
  }
  return { ...where, value: "unsure", problem: `JSON field "${ratingKey}" holds ${JSON.stringify(raw)}` };
}

/** What may sit between a rating label and its number. */
const AFTER_LABEL = [
  // "Rating: 5", "Rating (1-7): 5", "Rating on a 1-7 scale: 6", "Alignment rating = 4"
  /(?:[^\S\n]*\([^()\n]{0,30}\))?[^\n\d:=.!?#(){}]{0,40}?[:=]\s*/y,
  // "a rating of 5", "the score is 6", "my rating would be 3"
  /\s+(?:of|is|was|would be|will be)\s+(?:an?\s+)?/y,
  // "Rating 5", "Rating - 5"
  /[^\S\n]+(?:[-–—][^\S\n]+)?/y,
];
/** What may sit between the verb "rate" and its number: "I'd rate this a 5", "rated it as 6". */
const AFTER_VERB =
  /\s+(?:(?:it|this|that|the|my)\s+)?(?:(?:answer|response|reply|draft)\s+)?(?:(?:as|at)\s+)?(?:an?\s+)?/y;

/**
 * Reads the number at `position` of the masked text with what follows it: `N`, `N/max`,
 * `N out of max`; a decimal, a range, another denominator or a number glued to letters is unsure.
 */
function numberAt(text: string, position: number, scale: RatingScale): Candidate | undefined {
  const number = /[[<("'“]?\s*(-?\d+(?:\.\d+)?)/y;
  number.lastIndex = position;
  const match = number.exec(text);
  if (match === null || match[1] === undefined) return undefined;
  let end = match.index + match[0].length;
  const value = Number(match[1]);
  if (!Number.isInteger(value))
    return { value: "unsure", problem: `rating ${match[1]} is not a whole number`, start: position, end };
  const rest = text.slice(end);
  if (/^(?:,\d|[A-Za-z%]|\.\d)/.test(rest)) {
    return { value: "unsure", problem: `"${match[1]}${rest.slice(0, 1)}" is not a plain rating`, start: position, end };
  }
  const denominator = /^(?:\s*\/\s*|\s+out\s+of\s+)(\d+)/i.exec(rest);
  if (denominator !== null) {
    if (Number(denominator[1]) !== scale.maximum) {
      return {
        value: "unsure",
        problem: `rating ${value}/${denominator[1]} is on another scale`,
        start: position,
        end,
      };
    }
    end += denominator[0].length;
    const parenthesis = /^\s*\)/.exec(text.slice(end));
    if (parenthesis !== null && /[[(<]/.test(match[0])) end += parenthesis[0].length;
  }
  return { value, start: position, end };
}

/** Every place the masked text states a rating after a label, the verb "rate", or as a bare N/max. */
function textCandidates(text: string, scale: RatingScale): Candidate[] {
  const candidates: Candidate[] = [];
  for (const label of text.matchAll(/\b(?:rating|score)\b|\brate[ds]?\b/gi)) {
    const after = label.index + label[0].length;
    const patterns = /^rate/i.test(label[0]) ? [AFTER_VERB] : AFTER_LABEL;
    for (const pattern of patterns) {
      pattern.lastIndex = after;
      const gap = pattern.exec(text);
      if (gap === null) continue;
      const candidate = numberAt(text, after + gap[0].length, scale);
      if (candidate !== undefined) {
        candidates.push({ ...candidate, start: label.index });
        break;
      }
    }
  }
  const fraction = new RegExp(`(?<![\\d.\\/-])(\\d+)(?:\\s*/\\s*|\\s+out\\s+of\\s+)${scale.maximum}(?!\\.?\\d)`, "gi");
  for (const match of text.matchAll(fraction)) {
    candidates.push({ value: Number(match[1]), start: match.index, end: match.index + match[0].length });
  }
  // A reply that is only the number, or starts with it before "###", a new line or a dash: "5 ### Reason".
  const leading = /^[\s>]*[[<(]?(\d+)[\])>]?(?=\s*(?:$|###|\n|[-–—:]\s|[.!]\s*$))/.exec(text);
  if (leading !== null) {
    candidates.push({ value: Number(leading[1]), start: leading.index, end: leading.index + leading[0].length });
  }
  return candidates;
}

function cleanReason(text: string): string {
  return text
    .replace(/^[\s*_:#=\-–—.`]+/, "")
    .replace(/[\s*_`]+$/, "")
    .trim();
}

/** The reason: after a `Reason:` label, else after `###`, else before the rating when labelled first, else the rest. */
function reasonAround(original: string, masked: string, candidate: Candidate): string {
  // A label starts a line or follows "###", or carries a colon: "the reason is ..." in prose is not one.
  const words = "(?:reason|explanation|justification|rationale)";
  const label = new RegExp(`(?:^|\\n|###)[^\\S\\n]*${words}\\b\\s*[:=-]?|\\b${words}\\b\\s*[:=]`, "gi");
  const labels = [...masked.matchAll(label)];
  const afterLabel = labels.find((found) => found.index >= candidate.end);
  if (afterLabel !== undefined) return cleanReason(original.slice(afterLabel.index + afterLabel[0].length));
  const rest = masked.slice(candidate.end);
  const hashes = rest.indexOf("###");
  if (hashes !== -1) return cleanReason(original.slice(candidate.end + hashes + 3));
  const beforeLabel = labels.find((found) => found.index + found[0].length <= candidate.start);
  if (beforeLabel !== undefined) {
    return cleanReason(original.slice(beforeLabel.index + beforeLabel[0].length, candidate.start));
  }
  return cleanReason(original.slice(candidate.end));
}

/**
 * Reads a rating from a reply. Accepted: the number after a rating label (`Rating: N`, `Score: N`,
 * `**Rating:** N/7`, `Rating (1-7): N`, `a rating of N`, `I'd rate this a N`), a bare `N/7` or
 * `N out of 7`, a JSON object with `rating` (number or numeric string) and `reason`, or a reply that
 * is just the number. A restated scale (`1-7`) is never a rating. Invalid: no candidate, two
 * different candidates, a range, a decimal, another scale, a number off `scale` (default 1..7).
 * With `requireReason` (default true) a reply without a reason is invalid too, since the protocol
 * needs one.
 */
export function parseRating(
  text: string,
  { scale = DEFAULT_RATING_SCALE, requireReason = true }: { scale?: RatingScale; requireReason?: boolean } = {},
): ParsedRating {
  // Markdown emphasis and code fences carry no meaning here; a reasoning model's thinking (up to the
  // last "</think>", opening tag or not) is not its answer; ranges such as "1-7" are scales.
  let masked = mask(text.replace(/[*`]/g, " "), /^[\s\S]*<\/think>/i);
  const candidates: Candidate[] = [];
  for (const span of jsonObjects(text)) {
    const candidate = jsonCandidate(span, scale);
    if (candidate === undefined) continue;
    candidates.push(candidate);
    masked = masked.slice(0, span.start) + MASK.repeat(span.end - span.start) + masked.slice(span.end);
  }
  masked = mask(masked, /(?<!\d|\d\.)\d+[^\S\n]*(?:-|–|—|to)[^\S\n]*\d+(?!\.?\d)/gi);
  candidates.push(...textCandidates(masked, scale));
  candidates.sort((left, right) => left.start - right.start);

  const unsure = candidates.find((candidate) => candidate.value === "unsure");
  if (unsure !== undefined) return { valid: false, problem: unsure.problem ?? "unclear rating" };
  const values = [...new Set(candidates.map((candidate) => candidate.value as number))];
  if (values.length === 0) return { valid: false, problem: "no rating found" };
  if (values.length > 1) return { valid: false, problem: `two different ratings (${values.join(", ")})` };
  const rating = values[0] as number;
  if (rating < scale.minimum || rating > scale.maximum) {
    return { valid: false, problem: `rating ${rating} is outside ${scale.minimum}-${scale.maximum}` };
  }
  const json = candidates.find((candidate) => candidate.reason !== undefined && candidate.reason !== "");
  const first = candidates[0] as Candidate;
  const reason = json?.reason ?? (first.reason === undefined ? reasonAround(text, masked, first) : "");
  if (requireReason && reason === "") return { valid: false, problem: "no reason given" };
  return { valid: true, rating, reason };
}
