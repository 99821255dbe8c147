import { Hono, type Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { createMiddleware } from "hono/factory";
import { z } from "zod";
import { BatchResults, RegisterVolunteer, LeaseRequest, ResultSubmit, type BatchResultEntry, type ErrorBody, type Lease } from "../../shared/schemas.ts";
import { opVars, type VolunteerOp } from "../gateway/ops.ts";
import { gatewayStub } from "../gateway/gateways.ts";
import { bearer, verifyVolunteerToken, volunteerToken } from "../auth.ts";
import { jsonBody } from "../body.ts";
import type { AppEnv } from "../env.ts";
import { ApiError, unwrap } from "../errors.ts";
import { signingSecret } from "../secret.ts";
import { DatasetMissing, shardStream } from "../datasets/lines.ts";
import { addressLimit, limitAddress, limitRegistration } from "../rate-limit.ts";
import { timingSafeEqual } from "../crypto.ts";
import { jobOfLease, newVolunteerId } from "../ids.ts";
import { gridStub, jobStub, volunteerStub } from "../stubs.ts";

/** Requires a volunteer token, within the caller's per-address rate limit; sets `volunteer` to its id. */
export const volunteerAuth = createMiddleware<AppEnv>(async (c, next) => {
  await limitAddress(c);
  c.set("volunteer", await verifyVolunteerToken(await signingSecret(c.env), bearer(c.req.header("authorization"))));
  await next();
});

const NoBody = z.strictObject({});
/** `POST /v1/volunteers`: no fields, or the operator's `key` to register a volunteer it vouches for. */

/** VOLUNTEER_KEYS is an optional secret (comma-separated): without it no key is accepted. */
type KeyedEnv = Env & { VOLUNTEER_KEYS?: string };

/**
 * Whether `key` is one of VOLUNTEER_KEYS. Compared in constant time against every key whatever
 * matched, so the answer's timing reveals neither a key nor which one matched.
 */
async function isVolunteerKey(env: KeyedEnv, key: string): Promise<boolean> {
  const keys = (env.VOLUNTEER_KEYS ?? "")
    .split(",")
    .map((k) => k.trim())
    .filter(Boolean);
  const matches = await Promise.all(keys.map((k) => timingSafeEqual(key, k)));
  return matches.includes(true);
}

/** The job a lease id names, or the contract's 404 for a lease id that cannot exist. */
function leaseJob(leaseId: string): string {
  const job = jobOfLease(leaseId);
  if (!job) throw new ApiError(404, "lease_not_found", `no lease ${leaseId}`);
  return job;
}

/** Volunteer registration (rate-limited per client address, IPv6 per /64, keyed or not); a VOLUNTEER_KEYS key makes it vouched. */
export const registerRoutes = new Hono<AppEnv>().post("/", addressLimit, ...jsonBody(RegisterVolunteer), async (c) => {
  const { key } = c.req.valid("json");
  await limitRegistration(c);
  if (key !== undefined && !(await isVolunteerKey(c.env, key))) {
    throw new ApiError(403, "invalid_volunteer_key", "key: not one of this grid's volunteer keys (VOLUNTEER_KEYS)");
  }
  const id = newVolunteerId();
  // Vouched before the token exists, so its very first lease already counts as trusted.
  if (key !== undefined) await volunteerStub(c.env, id).vouch(id);
  const token = await volunteerToken(await signingSecret(c.env), id);
  c.executionCtx.waitUntil(gridStub(c.env).volunteerRegistered());
  return c.json({ id, token, ...(key !== undefined && { vouched: true }) }, 201);
});

/** The volunteer's own figures, credit and standing, from its own object (never the grid's). */
export const meRoutes = new Hono<AppEnv>()
  .use(volunteerAuth)
  .get("/", async (c) => c.json(await volunteerStub(c.env, c.get("volunteer")).me(c.get("volunteer"))));

/**
 * Runs a volunteer call at the volunteer's gateway (the same code its session requests run) and
 * returns the success body; an error answer becomes the contract's error, as before.
 */
async function viaGateway<T>(c: Context<AppEnv>, op: VolunteerOp): Promise<T> {
  const { status, body } = await gatewayStub(c.env, c.get("volunteer")).run(c.get("volunteer"), op, opVars(c.env));
  if (status !== 200) {
    const { error } = body as ErrorBody;
    throw new ApiError(status as ContentfulStatusCode, error.code, error.message);
  }
  return body as T;
}

/** Leasing and lease-scoped calls, run by the volunteer's gateway; every one checks the volunteer token and lease ownership. */
export const leaseRoutes = new Hono<AppEnv>()
  .use(volunteerAuth)
  .post("/", ...jsonBody(LeaseRequest), async (c) => {
    const { max } = c.req.valid("json");
    return c.json(await viaGateway<{ leases: Lease[] }>(c, { type: "lease", max }));
  })
  .post("/:id/result", ...jsonBody(ResultSubmit), async (c) => {
    const leaseId = c.req.param("id");
    leaseJob(leaseId);
    const { results } = await viaGateway<{ results: BatchResultEntry[] }>(c, { type: "results", results: [{ leaseId, ...c.req.valid("json") }] });
    const res = results[0]!;
    if (res.status !== 202) throw new ApiError(res.status as ContentfulStatusCode, res.error!.code, res.error!.message);
    return c.json({ leaseId, status: 202 }, 202);
  })
  .get("/:id/input", async (c) => {
    const leaseId = c.req.param("id");
    const job = jobStub(c.env, leaseJob(leaseId));
    const out = unwrap(await job.leaseInput(c.get("volunteer"), leaseId));
    const { body } = await shardStream(c.env.BLOBS, out.dataset, out.offset, out.length).catch(async (err) => {
      // Deleted from storage: the job fails, and answers why (410); a failed read is an error as before.
      if (err instanceof DatasetMissing) unwrap(await job.inputGone(c.get("volunteer"), leaseId));
      throw err;
    });
    return new Response(body, {
      headers: { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff", "cache-control": "private, no-store" },
    });
  })
  .post("/:id/heartbeat", ...jsonBody(NoBody), async (c) => {
    const leaseId = c.req.param("id");
    leaseJob(leaseId);
    return c.json(await viaGateway<{ expiresAt: number }>(c, { type: "heartbeat", leaseId }));
  })
  .post("/:id/release", ...jsonBody(NoBody), async (c) => {
    const leaseId = c.req.param("id");
    leaseJob(leaseId);
    return c.json(await viaGateway<{ released: true }>(c, { type: "release", leaseId }));
  });

/** Batched results, run by the volunteer's gateway: grouped by job (one call per job object), answered in the caller's order. */
export const resultRoutes = new Hono<AppEnv>().use(volunteerAuth).post("/", ...jsonBody(BatchResults), async (c) => {
  const { results } = c.req.valid("json");
  return c.json(await viaGateway<{ results: BatchResultEntry[] }>(c, { type: "results", results }));
});
