import { Hono } from "hono";
import { z } from "zod";
import { LIMITS } from "../../shared/limits.ts";
import { CreateJob } from "../../shared/schemas.ts";
import { submitterAuth } from "../auth.ts";
import { jsonBody, parseOr400 } from "../body.ts";
import { invalidateRunning } from "../dispatch.ts";
import type { AppEnv } from "../env.ts";
import { ApiError, unwrap } from "../errors.ts";
import { planJob } from "../job/plan.ts";
import { gridStub, jobStub, newJobId, submitterStub } from "../stubs.ts";

const JOB_ID = /^j_[a-z0-9]{16}$/;
const ShardsQuery = z.strictObject({
  after: z.coerce.number().int().min(-1).default(-1),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
const ListQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  /** The `next` of the previous page: `<createdAt>.<jobId>`. */
  before: z
    .string()
    .regex(/^\d{1,16}\.j_[a-z0-9]{16}$/, "must be the next cursor of a previous page")
    .transform((c) => ({ createdAt: Number(c.slice(0, c.indexOf("."))), id: c.slice(c.indexOf(".") + 1) }))
    .optional(),
});

/** The id route parameter, or a 404 for anything that cannot be a job id (no object is touched). */
function jobId(id: string): string {
  if (!JOB_ID.test(id)) throw new ApiError(404, "job_not_found", "no such job");
  return id;
}

/** Submitter routes: create, list, status, result, cancel. Every one checks the token and ownership. */
export const jobRoutes = new Hono<AppEnv>()
  .use(submitterAuth)
  .post("/", ...jsonBody(CreateJob, LIMITS.jobBodyBytes), async (c) => {
    const body = c.req.valid("json");
    const now = Date.now();
    const manifest = body.kernel.startsWith("k_") ? await submitterStub(c.env, c.get("submitter")).kernel(body.kernel) : undefined;
    if (body.kernel.startsWith("k_") && !manifest) {
      throw new ApiError(400, "invalid_body", `kernel: unknown kernel "${body.kernel}" (publish it first with POST /v1/kernels)`);
    }
    const { meta, inputs } = planJob(body, newJobId(), c.get("submitter"), now, manifest);
    const status = await jobStub(c.env, meta.id).create(meta, inputs);
    await Promise.all([
      submitterStub(c.env, meta.owner).addJob(meta.id, now),
      status.state === "running" ? gridStub(c.env).jobStarted(meta.id, now) : undefined,
    ]);
    invalidateRunning();
    return c.json(status, 201);
  })
  .get("/", async (c) => {
    const q = parseOr400(ListQuery, c.req.query(), "query");
    const page = await submitterStub(c.env, c.get("submitter")).jobs(q.limit, q.before);
    // A job deleted after its retention period answers 410: it is simply no longer listed.
    const answers = await Promise.all(page.map((j) => jobStub(c.env, j.id).status(c.get("submitter"))));
    const jobs = answers.flatMap((a) => (a.ok ? [a.status] : []));
    const last = page.at(-1);
    return c.json({ jobs, ...(page.length === q.limit && last && { next: `${last.createdAt}.${last.id}` }) });
  })
  .get("/:id", async (c) => {
    const out = unwrap(await jobStub(c.env, jobId(c.req.param("id"))).status(c.get("submitter")));
    return c.json(out.status);
  })
  .get("/:id/result", async (c) => {
    const id = jobId(c.req.param("id"));
    const out = unwrap(await jobStub(c.env, id).result(c.get("submitter")));
    return c.json({ id, result: out.result });
  })
  .get("/:id/shards", async (c) => {
    const q = parseOr400(ShardsQuery, c.req.query(), "query");
    const { shards } = unwrap(await jobStub(c.env, jobId(c.req.param("id"))).shards(c.get("submitter"), q.after, q.limit));
    const last = shards.at(-1);
    return c.json({ shards, ...(shards.length === q.limit && last && { next: Number(last.shard) }) });
  })
  .get("/:id/events", async (c) => {
    const headers = new Headers({ "x-colmeia-owner": c.get("submitter") });
    const last = c.req.header("last-event-id");
    if (last) headers.set("last-event-id", last);
    const res = await jobStub(c.env, jobId(c.req.param("id"))).fetch(new Request("http://job/events", { headers }));
    if (!res.ok) throw new ApiError(404, "job_not_found", "no such job");
    return res;
  })
  .delete("/:id", async (c) => {
    const id = jobId(c.req.param("id"));
    const out = unwrap(await jobStub(c.env, id).cancel(c.get("submitter")));
    await gridStub(c.env).jobEnded(id);
    invalidateRunning();
    return c.json(out.status);
  });
