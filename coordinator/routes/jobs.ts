import { Hono } from "hono";
import { z } from "zod";
import { canonicalJson, sha256Hex } from "../../shared/canonical.ts";
import { LIMITS } from "../../shared/limits.ts";
import { CreateJob, type JobStatus } from "../../shared/schemas.ts";
import { submitterAuth } from "../auth.ts";
import { jsonBody, parseOr400 } from "../body.ts";
import { invalidateRunning } from "../dispatch.ts";
import type { AppEnv } from "../env.ts";
import { ApiError, unwrap } from "../errors.ts";
import type { DatasetRef, JobMeta } from "../job/meta.ts";
import { firstRecord } from "../datasets/lines.ts";
import { QUOTED_NEWLINES_MAX } from "../datasets/scan.ts";
import { notifyUrlProblem, webhookHttpHosts } from "../net/notify-url.ts";
import { planJob } from "../job/plan.ts";
import { newJobId } from "../ids.ts";
import { gridStub, jobStub, submitterStub } from "../stubs.ts";

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

/** An `Idempotency-Key` header: 1 to 255 printable ASCII characters. */
const IDEMPOTENCY_KEY = /^[\x20-\x7e]{1,255}$/;

/** The request's `Idempotency-Key`, undefined without one, or a 400 for one that is malformed. */
function idempotencyKey(header: string | undefined): string | undefined {
  if (header !== undefined && !IDEMPOTENCY_KEY.test(header)) {
    throw new ApiError(400, "invalid_idempotency_key", "Idempotency-Key: must be 1 to 255 printable ASCII characters");
  }
  return header;
}

/** Longest CSV header a dataset job takes (it rides along in every shard's lease). */
const HEADER_MAX_BYTES = 64 * 1024;

/** What a dataset job needs of its dataset, looked up and checked before anything is created. */
async function datasetOf(env: Env, body: CreateJob, owner: string): Promise<{ ref: Omit<DatasetRef, "chunkBytes">; quoted?: number[] } | undefined> {
  if (!body.dataset) return undefined;
  const record = await submitterStub(env, owner).dataset(body.dataset.id);
  if (!record) throw new ApiError(404, "dataset_not_found", `dataset: no dataset ${body.dataset.id} (upload it first with POST /v1/datasets)`);
  const csv = body.kernel === "records.aggregate" && body.params.format === "csv";
  if (!csv) return { ref: { id: record.id, key: record.key, bytes: record.bytes } };
  if (record.quoted === null) {
    throw new ApiError(
      400,
      "invalid_body",
      `dataset: more than ${QUOTED_NEWLINES_MAX} newlines sit inside quoted CSV fields, so its records cannot be cut exactly; use JSON Lines`,
    );
  }
  const header = await firstRecord(env.BLOBS, { key: record.key, bytes: record.bytes, quoted: record.quoted }, HEADER_MAX_BYTES);
  if (header === undefined) throw new ApiError(400, "invalid_body", `dataset: its CSV header line is longer than ${HEADER_MAX_BYTES} bytes`);
  return { ref: { id: record.id, key: record.key, bytes: record.bytes, csv: true, header }, quoted: record.quoted };
}

/**
 * Creates the job and announces it. Its place under the owner's quotas is taken first, in one
 * step of the grid object (see GridObject.admit), and given back if it is not created; a dataset
 * job is linked to its dataset first, so the dataset cannot go while it runs.
 */
async function startJob(env: Env, meta: JobMeta, inputs: string[] | undefined, key?: string, quoted?: number[]): Promise<JobStatus> {
  const grid = gridStub(env);
  const limits = { jobs: LIMITS.runningJobsPerSubmitter, shards: LIMITS.runningShardsPerSubmitter };
  const admission = await grid.admit({ id: meta.id, owner: meta.owner, shards: meta.total }, limits);
  if (!admission.admitted) refuseOverQuota(admission, meta.total);
  let status: JobStatus;
  try {
    const submitter = submitterStub(env, meta.owner);
    if (meta.dataset && !(await submitter.useDataset(meta.dataset.id, meta.id))) {
      throw new ApiError(404, "dataset_not_found", `dataset: no dataset ${meta.dataset.id}`);
    }
    // Listed before it exists: a job is never running unlisted, where its owner could neither see
    // nor cancel it (a listed id whose creation failed answers 404 and is simply not shown).
    await submitter.addJob(meta.id, meta.createdAt);
    status = await jobStub(env, meta.id).create(meta, inputs, quoted);
  } catch (err) {
    // Not created by this request: its place under the quotas is free again (a job another
    // request created under the same id, an Idempotency-Key retry say, keeps its own).
    await grid.unadmit(meta.id).catch(() => {});
    throw err;
  }
  // A job with nothing to compute ends at creation: it never starts, so it holds no place either.
  if (status.state !== "running") await grid.jobEnded(meta.id);
  await announce(env, status, meta.owner, key, true);
  return status;
}

/** The 429 of a job over its owner's quotas, saying which and by how much. */
function refuseOverQuota(mine: { jobs: number; shards: number }, total: number): never {
  const later = { "retry-after": "60" };
  if (mine.jobs >= LIMITS.runningJobsPerSubmitter) {
    throw new ApiError(
      429,
      "too_many_running_jobs",
      `this token has ${mine.jobs} jobs running, the most it may (${LIMITS.runningJobsPerSubmitter}); wait for one to end or cancel one`,
      later,
    );
  }
  throw new ApiError(
    429,
    "too_many_running_shards",
    `this token's running jobs hold ${mine.shards} shards; ${total} more would pass the quota of ${LIMITS.runningShardsPerSubmitter}`,
    later,
  );
}

/** Lists the job under its submitter (marking `key` used) and, while it runs, in the grid's running list. */
async function announce(env: Env, status: JobStatus, owner: string, key: string | undefined, fresh: boolean): Promise<void> {
  const running = { id: status.id, createdAt: status.createdAt, owner, priority: status.priority ?? 0, shards: status.shards.total };
  await Promise.all([
    submitterStub(env, owner).addJob(status.id, status.createdAt, key),
    status.state === "running" ? gridStub(env).jobStarted(running, fresh) : undefined,
  ]);
  invalidateRunning();
}

/**
 * Creates the job at most once per key: the key is reserved in the submitter's object (with the
 * SHA-256 of the canonical body) before the job exists, so concurrent duplicates and retries after
 * a failure all end at the one job id the reservation holds.
 */
async function startJobOnce(env: Env, key: string, bodySha256: string, plan: (id: string) => ReturnType<typeof planJob>, quoted?: number[]) {
  const planned = plan(newJobId());
  const owner = planned.meta.owner;
  const keys = submitterStub(env, owner);
  const claim = await keys.claimKey(key, bodySha256, planned.meta.id, planned.meta.createdAt);
  switch (claim.kind) {
    case "conflict":
      throw new ApiError(409, "idempotency_conflict", "Idempotency-Key: already used with a different request body (keys are kept 24 hours)");
    case "busy":
      throw new ApiError(409, "idempotency_in_progress", "Idempotency-Key: a request with this key is still being handled; retry shortly", {
        "retry-after": "1",
      });
    case "replay":
      return { status: unwrap(await jobStub(env, claim.jobId).status(owner)).status, replayed: true };
  }
  if (claim.resumed) {
    // An earlier attempt died after reserving the key: it may have created the job before it did.
    const existing = await jobStub(env, claim.jobId).status(owner);
    if (existing.ok) {
      await announce(env, existing.status, owner, key, false);
      return { status: existing.status, replayed: true };
    }
  }
  const { meta, inputs } = claim.jobId === planned.meta.id ? planned : plan(claim.jobId);
  try {
    return { status: await startJob(env, meta, inputs, key, quoted), replayed: false };
  } catch (err) {
    await keys.abandonKey(key, meta.id).catch(() => {});
    throw err;
  }
}

/** The id route parameter, or a 404 for anything that cannot be a job id (no object is touched). */
function jobId(id: string): string {
  if (!JOB_ID.test(id)) throw new ApiError(404, "job_not_found", "no such job");
  return id;
}

/** Submitter routes: create, list, status, result, cancel. Every one checks the token and ownership. */
export const jobRoutes = new Hono<AppEnv>()
  .use(submitterAuth)
  .post("/", ...jsonBody(CreateJob, LIMITS.jobBodyBytes), async (c) => {
    const key = idempotencyKey(c.req.header("idempotency-key"));
    const body = c.req.valid("json");
    const now = Date.now();
    const manifest = body.kernel.startsWith("k_") ? await submitterStub(c.env, c.get("submitter")).kernel(body.kernel) : undefined;
    if (body.kernel.startsWith("k_") && !manifest) {
      throw new ApiError(400, "invalid_body", `kernel: unknown kernel "${body.kernel}" (publish it first with POST /v1/kernels)`);
    }
    if (body.notify) {
      const problem = notifyUrlProblem(body.notify.url, webhookHttpHosts((c.env as Env & { WEBHOOK_HTTP_HOSTS?: string }).WEBHOOK_HTTP_HOSTS));
      if (problem) throw new ApiError(400, "invalid_body", `notify.url: ${problem}`);
    }
    const dataset = await datasetOf(c.env, body, c.get("submitter"));
    const plan = (id: string) => planJob(body, id, c.get("submitter"), now, manifest, dataset?.ref);
    if (key === undefined) {
      const { meta, inputs } = plan(newJobId());
      return c.json(await startJob(c.env, meta, inputs, undefined, dataset?.quoted), 201);
    }
    // A replay answers like the original (201) with the job's current status, as Stripe does.
    const bodySha256 = await sha256Hex(canonicalJson(await c.req.json()));
    const { status, replayed } = await startJobOnce(c.env, key, bodySha256, plan, dataset?.quoted);
    return c.json(status, 201, replayed ? { "idempotent-replayed": "true" } : {});
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
    const out = await jobStub(c.env, jobId(c.req.param("id"))).events(c.get("submitter"), c.req.header("last-event-id"));
    return unwrap(out).response;
  })
  .delete("/:id", async (c) => {
    const id = jobId(c.req.param("id"));
    const out = unwrap(await jobStub(c.env, id).cancel(c.get("submitter")));
    await gridStub(c.env).jobEnded(id);
    invalidateRunning();
    return c.json(out.status);
  });
