import { env } from "cloudflare:workers";

/** Log levels, least severe first; `LOG_LEVEL` (a var) sets the threshold, `info` when unset. */
export const LEVELS = ["debug", "info", "warn", "error"] as const;
export type Level = (typeof LEVELS)[number];

/** Fields a log line may carry besides time, level and message. Never a token or an Authorization header. */
export type LogFields = Record<string, string | number | boolean | undefined>;

let threshold: { source: string | undefined; rank: number } | undefined;

function rank(level: Level): number {
  const source = (env as { LOG_LEVEL?: string } | undefined)?.LOG_LEVEL;
  if (!threshold || threshold.source !== source) {
    const at = LEVELS.indexOf((source ?? "info").toLowerCase() as Level);
    threshold = { source, rank: at < 0 ? 1 : at };
  }
  return LEVELS.indexOf(level) - threshold.rank;
}

/** What an error says, for a log line: its message and the top of its stack, never the object itself. */
export function describeError(err: unknown): LogFields {
  if (!(err instanceof Error)) return { error: String(err) };
  return { error: `${err.name}: ${err.message}`, stack: err.stack?.split("\n").slice(1, 6).join(" | ") };
}

/**
 * Writes one JSON object on one line through the console method of its level, so Workers Logs
 * files it under that level and indexes its fields, and `npm start` can print it for a person.
 * @example log("warn", "grid report failed; will retry", { jobId, ...describeError(err) })
 */
export function log(level: Level, message: string, fields: LogFields = {}): void {
  if (rank(level) < 0) return;
  const line = JSON.stringify({ time: new Date().toISOString(), level, message, ...fields });
  console[level](line);
}
