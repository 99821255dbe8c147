import { UsageError } from "../exit.ts";

/** A whole number >= `min` given to `flag`, or a usage error naming the flag. */
export function wholeNumber(flag: string, text: string, min = 1): number {
  const n = Number(text.replaceAll("_", ""));
  if (text.trim() === "" || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`${flag} must be a whole number >= ${min}, got ${JSON.stringify(text)}`);
  }
  return n;
}

const MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Milliseconds in a duration such as `90s`, `2m`, `1h` or `60000` (bare numbers are ms).
 * @example parseDuration("--lease-ttl", "2m") // 120000
 */
export function parseDuration(flag: string, text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/i.exec(text);
  if (!match) throw new UsageError(`${flag} must be a duration like 90s, 2m or 60000 (ms), got ${JSON.stringify(text)}`);
  return Math.round(Number(match[1]) * MS[(match[2] ?? "ms").toLowerCase()]!);
}

/** A JSON object given to `flag`, or a usage error. */
export function jsonObject(flag: string, text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${flag} must be JSON: ${(error as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new UsageError(`${flag} must be a JSON object, e.g. '{"n": 3}'`);
  }
  return value as Record<string, unknown>;
}
