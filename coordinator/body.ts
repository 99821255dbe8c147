import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import { validator } from "hono/validator";
import type { z } from "zod";
import { LIMITS } from "../shared/limits.ts";
import { ApiError } from "./errors.ts";

/** Describes the first schema issue as "field: problem", so a 400 names what to fix. */
export function describeIssues(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "invalid body";
  const path = issue.path.length ? issue.path.map(String).join(".") : "body";
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more problem(s))` : "";
  return `${path}: ${issue.message}${more}`;
}

/** Parses `value` with `schema` or throws a 400 naming the offending field. */
export function parseOr400<S extends z.ZodType>(schema: S, value: unknown, what = "body"): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ApiError(400, `invalid_${what}`, describeIssues(parsed.error));
  return parsed.data;
}

const requireJsonType = createMiddleware(async (c, next) => {
  const type = c.req.header("content-type") ?? "";
  const length = c.req.header("content-length");
  const hasBody = length !== undefined ? length !== "0" : c.req.raw.body !== null;
  const json = /^application\/([\w.-]+\+)?json\s*(;|$)/i.test(type);
  if (hasBody && !json) {
    throw new ApiError(415, "unsupported_media_type", "request body must be JSON (content-type: application/json)");
  }
  // An empty body, even one labelled JSON, means "no fields" (`{}`), not malformed JSON.
  if (json && (await c.req.text()).trim() === "") c.req.bodyCache.json = Promise.resolve({});
  await next();
});

/**
 * Middleware chain for a JSON body: size cap (413), JSON content type (415), syntax (400) and
 * schema (400). A missing body is treated as `{}` so optional bodies may be left out.
 */
export function jsonBody<S extends z.ZodType>(schema: S, maxBytes: number = LIMITS.bodyBytes, why?: string) {
  return [
    bodyLimit({
      maxSize: maxBytes,
      onError: () => {
        throw new ApiError(413, "body_too_large", `request body exceeds ${maxBytes} bytes${why ? `: ${why}` : ""}`);
      },
    }),
    requireJsonType,
    validator("json", (value) => parseOr400(schema, value) as z.output<S>),
  ] as const;
}
