import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { LIMITS } from "../shared/limits.ts";
import type { ErrorBody } from "../shared/schemas.ts";
import { describeError, log } from "./observe/log.ts";

/** A failure at the HTTP edge: status, machine-readable code and a message that names the problem. */
export class ApiError extends HTTPException {
  constructor(
    status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(status, { message });
  }
}

/** The contract's error body. */
export function errorBody(code: string, message: string) {
  return { error: { code, message } } satisfies ErrorBody;
}

/** A failure a Durable Object reports back over RPC (classes do not survive RPC; plain values do). */
export interface Failure {
  ok: false;
  status: ContentfulStatusCode;
  code: string;
  message: string;
}
export type Outcome<T> = ({ ok: true } & T) | Failure;

export const fail = (status: ContentfulStatusCode, code: string, message: string): Failure => ({
  ok: false,
  status,
  code,
  message,
});

/** Unwraps an RPC outcome, turning a Failure into the ApiError the edge renders. */
export function unwrap<O extends { ok: boolean }>(outcome: O): Extract<O, { ok: true }> {
  if (!outcome.ok) {
    const f = outcome as unknown as Failure;
    throw new ApiError(f.status, f.code, f.message);
  }
  return outcome as Extract<O, { ok: true }>;
}

/**
 * Renders every thrown error in the contract's shape; unknown errors are 500s and are logged. A
 * refused request's unread body is read to its end first (see {@link drainBody}).
 */
export async function renderError(err: Error, c: Context): Promise<Response> {
  const res = errorResponse(err, c);
  // A body refused for its size is not read, whatever it declared.
  if (res.status !== 413) await drainBody(c.req.raw);
  return res;
}

/**
 * Reads to its end the body of a request refused before it was read, when it declared a length no
 * larger than an upload part. Answering first and closing the connection on a body still being
 * sent made the sender (Node's fetch, a 5 MiB part sent out of order) see a broken connection
 * instead of its 409. A body declared larger, or none declared, is left alone: those are refused
 * for their size or their missing length, and reading them is what the refusal avoids.
 */
async function drainBody(req: Request): Promise<void> {
  const declared = Number(req.headers.get("content-length"));
  if (!req.body || req.bodyUsed || !(declared > 0 && declared <= LIMITS.partBytes.max)) return;
  await req.body.pipeTo(new WritableStream()).catch(() => {});
}

function errorResponse(err: Error, c: Context): Response {
  if (err instanceof ApiError) return c.json(errorBody(err.code, err.message), err.status, err.headers);
  if (err instanceof HTTPException) {
    const code = err.status === 413 ? "body_too_large" : err.status === 400 ? "invalid_json" : "http_error";
    return c.json(errorBody(code, err.message || "request rejected"), err.status);
  }
  log("error", "unhandled error", { method: c.req.method, path: c.req.path, ...describeError(err) });
  return c.json(errorBody("internal", "internal error"), 500);
}
