/** Reading URL parameters: bad ones are a 400 with one line naming the parameter. */
import { HTTPException } from "hono/http-exception";

/** `text` as a non-negative integer, or `fallback` when absent; 400 naming `name` when malformed. */
export function integerParameter({
  text,
  name,
  fallback,
}: {
  text: string | undefined;
  name: string;
  fallback?: number;
}): number {
  if ((text === undefined || text === "") && fallback !== undefined) return fallback;
  if (text === undefined || !/^\d{1,9}$/.test(text)) {
    throw new HTTPException(400, { message: `${name} must be a non-negative integer` });
  }
  return Number(text);
}

/** `text` as one of `choices`, or `fallback` when absent; 400 naming `name` otherwise. */
export function choiceParameter<T extends string>({
  text,
  name,
  choices,
  fallback,
}: {
  text: string | undefined;
  name: string;
  choices: readonly T[];
  fallback: T;
}): T {
  if (text === undefined || text === "") return fallback;
  if (!(choices as readonly string[]).includes(text)) {
    throw new HTTPException(400, { message: `${name} must be one of ${choices.join(", ")}` });
  }
  return text as T;
}
