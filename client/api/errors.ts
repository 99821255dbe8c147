import { isErrorBody } from "./guards.ts";

/**
 * A failed call to the coordinator: the HTTP status (0 when no HTTP answer came: the coordinator
 * could not be reached, or the call was refused before sending), the contract's machine-readable
 * `code` and its human `message`. `retryable` says whether the same call may succeed later (the
 * network failed, `429`, `5xx`); `retryAfterMs` is how long the coordinator asked to wait (its
 * `retry-after` header), when it said.
 * @example
 * try { await client.result(id) } catch (e) { if (e instanceof ColmeiaError && e.retryable) setTimeout(again, e.retryAfterMs ?? 1000) }
 */
export class ColmeiaError extends Error {
  readonly status: number;
  readonly code: string;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;

  // No parameter properties: client/ code must also load under Node's type stripping.
  constructor(status: number, code: string, message: string, retryAfterMs?: number) {
    super(message);
    this.name = "ColmeiaError";
    this.status = status;
    this.code = code;
    // Status 0 is also a call refused before sending (`invalid_url`, `invalid_id`): never retryable.
    this.retryable = status === 429 || status >= 500 || (status === 0 && code === "unreachable");
    this.retryAfterMs = retryAfterMs;
  }
}

/** Whether `error` is a {@link ColmeiaError} with the given status. */
export function isStatus(error: unknown, status: number): error is ColmeiaError {
  return error instanceof ColmeiaError && error.status === status;
}

/**
 * The error an answer with a failing `status` carries: the contract's `{"error": {code, message}}`
 * when its body is one, else `http_error` with `fallback` as the message.
 */
export function answerError(status: number, body: unknown, fallback: string, retryAfterMs?: number): ColmeiaError {
  if (isErrorBody(body)) return new ColmeiaError(status, body.error.code, body.error.message, retryAfterMs);
  return new ColmeiaError(status, "http_error", fallback, retryAfterMs);
}
