import { createMiddleware } from "hono/factory";
import { sha256Hex } from "../shared/canonical.ts";
import { hmacBase64Url, timingSafeEqual } from "./crypto.ts";
import { ApiError } from "./errors.ts";
import type { AppEnv } from "./env.ts";
import { limitSubmitter } from "./rate-limit.ts";

/** The bearer token of a request, or a 401. */
export function bearer(header: string | undefined): string {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  if (!match) throw new ApiError(401, "unauthorized", "missing Authorization: Bearer <token> header");
  return match[1]!;
}

/** A submitter's stable id, from the SHA-256 of its token. */
const submitterId = (tokenHash: string) => `s_${tokenHash.slice(0, 24)}`;

let submitterCache: { source: string; ids: Map<string, string> } | undefined;

/** Maps sha256(token) → submitter id for every token in SUBMIT_TOKENS (recomputed when it changes). */
async function submitterIds(source: string): Promise<Map<string, string>> {
  if (submitterCache?.source === source) return submitterCache.ids;
  const ids = new Map<string, string>();
  for (const token of source
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean)) {
    const hash = await sha256Hex(`submitter:${token}`);
    ids.set(hash, submitterId(hash));
  }
  submitterCache = { source, ids };
  return ids;
}

let weightCache: { source: string; weights: Map<string, number> } | undefined;

/**
 * Fair-share weights by submitter id, from the optional SUBMIT_WEIGHTS secret: comma-separated
 * `token=weight` (a positive number; submitters not named weigh 1).
 */
export async function submitterWeights(env: Env): Promise<Map<string, number>> {
  const source = (env as Env & { SUBMIT_WEIGHTS?: string }).SUBMIT_WEIGHTS ?? "";
  if (weightCache?.source === source) return weightCache.weights;
  const weights = new Map<string, number>();
  for (const entry of source
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean)) {
    const at = entry.lastIndexOf("=");
    const weight = Number(entry.slice(at + 1));
    if (at <= 0 || !(weight > 0)) continue;
    weights.set(submitterId(await sha256Hex(`submitter:${entry.slice(0, at)}`)), weight);
  }
  weightCache = { source, weights };
  return weights;
}

/**
 * Requires a submitter token from SUBMIT_TOKENS and a call left in its rate limit (429 otherwise,
 * before the route reads anything); sets `submitter` to its stable id.
 */
export const submitterAuth = createMiddleware<AppEnv>(async (c, next) => {
  const token = bearer(c.req.header("authorization"));
  const ids = await submitterIds(c.env.SUBMIT_TOKENS ?? "");
  const id = ids.get(await sha256Hex(`submitter:${token}`));
  if (!id) throw new ApiError(401, "unauthorized", "unknown submitter token");
  await limitSubmitter(c.env, id);
  c.set("submitter", id);
  await next();
});

/** A volunteer token: the id and an HMAC over it, so checking it needs no storage lookup. */
export async function volunteerToken(secret: string, volunteerId: string): Promise<string> {
  return `v1.${volunteerId}.${await hmacBase64Url(secret, `volunteer:${volunteerId}`)}`;
}

/** Tokens this isolate has already verified (bounded): saves an HMAC per request. */
const verified = new Map<string, string>();

/** Checks a volunteer token; returns the volunteer id or throws 401. */
export async function verifyVolunteerToken(secret: string, token: string): Promise<string> {
  const known = verified.get(`${secret.length}:${token}`);
  if (known) return known;
  const [version, id, sig] = token.split(".");
  if (version !== "v1" || !id || !sig || token.split(".").length !== 3) {
    throw new ApiError(401, "unauthorized", "malformed volunteer token");
  }
  if (!(await timingSafeEqual(sig, await hmacBase64Url(secret, `volunteer:${id}`)))) {
    throw new ApiError(401, "unauthorized", "unknown volunteer token");
  }
  if (verified.size >= 50_000) verified.clear();
  verified.set(`${secret.length}:${token}`, id);
  return id;
}
