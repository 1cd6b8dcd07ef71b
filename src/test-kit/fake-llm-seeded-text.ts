/** The fake server's seeded answers: text derived from the request, and ratings when one is asked for. */
import { mulberry32 } from "../engine/random.js";

const words = [
  "the",
  "agents",
  "should",
  "answer",
  "honestly",
  "and",
  "kindly",
  "because",
  "society",
  "values",
  "helpful",
  "harmless",
  "feedback",
  "improves",
  "every",
  "draft",
];

/**
 * Seeded words for a request (a rating when one is asked for): the same text for a greedy or seeded
 * request, a different one per call (`counter`) when sampled, cut at any stop string.
 */
export function seededText(
  raw: string,
  body: Record<string, unknown>,
  counter: number,
): { text: string; finishReason: string } {
  // Greedy or seeded requests repeat exactly; sampled ones differ per call, like a real server.
  const sampled = typeof body.temperature === "number" && body.temperature > 0 && body.seed === undefined;
  const random = mulberry32(hashText(raw) ^ (sampled ? Math.imul(counter, 0x9e3779b1) : 0));
  const maxTokens = typeof body.max_tokens === "number" ? body.max_tokens : Number.POSITIVE_INFINITY;
  const length = 6 + Math.floor(random() * 10);
  const chosen: string[] = [];
  for (let index = 0; index < Math.min(length, maxTokens); index += 1) {
    chosen.push(words[Math.floor(random() * words.length)] ?? "the");
  }
  let text = chosen.join(" ");
  // Asked for a rating (a JSON schema with an integer `rating`, or the `Rating: N` format), answer one,
  // so demos and benchmarks against the fake server exercise the valid-rating path.
  const ratingRange = requestedRatingRange(body, raw);
  if (ratingRange !== undefined) {
    const rating = ratingRange.minimum + Math.floor(random() * (ratingRange.maximum - ratingRange.minimum + 1));
    text = isJsonSchemaRequest(body)
      ? JSON.stringify({ rating, reason: text })
      : `Rating: ${rating} ### Reason: ${text}`;
    return { text, finishReason: "stop" };
  }
  const stops = Array.isArray(body.stop) ? body.stop : typeof body.stop === "string" ? [body.stop] : [];
  for (const stop of stops) {
    const at = typeof stop === "string" && stop !== "" ? text.indexOf(stop) : -1;
    if (at >= 0) text = text.slice(0, at);
  }
  return { text, finishReason: length > maxTokens ? "length" : "stop" };
}

function isJsonSchemaRequest(body: Record<string, unknown>): boolean {
  const format = body.response_format as { type?: unknown } | undefined;
  return format?.type === "json_schema";
}

function requestedRatingRange(
  body: Record<string, unknown>,
  raw: string,
): { minimum: number; maximum: number } | undefined {
  if (isJsonSchemaRequest(body)) {
    const schema = (body.response_format as { json_schema?: { schema?: { properties?: Record<string, unknown> } } })
      .json_schema?.schema;
    const rating = schema?.properties?.rating as { minimum?: unknown; maximum?: unknown } | undefined;
    if (rating === undefined) return undefined;
    return {
      minimum: typeof rating.minimum === "number" ? rating.minimum : 1,
      maximum: typeof rating.maximum === "number" ? rating.maximum : 7,
    };
  }
  return raw.includes("Rating: <") ? { minimum: 1, maximum: 7 } : undefined;
}

/** FNV-1a over UTF-16 code units. */
export function hashText(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
