import { Hono } from "hono";
import { z } from "zod";
import { randomHex as hex } from "../../shared/canonical.ts";
import { LIMITS } from "../../shared/limits.ts";
import { DATASET_ID, DatasetName, StartUpload, type Dataset, type Upload } from "../../shared/schemas.ts";
import { submitterAuth } from "../auth.ts";
import { jsonBody, parseOr400 } from "../body.ts";
import type { DatasetRecord, UploadRecord } from "../datasets/catalog.ts";
import { UploadScan } from "../datasets/scan.ts";
import { declaredLength, streamThrough } from "../datasets/store-body.ts";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../errors.ts";
import { jobStub, submitterStub } from "../stubs.ts";

const UPLOAD_ID = /^u_[0-9a-f]{32}$/;
const NameQuery = z.object({ name: DatasetName });
const PartParam = z.coerce.number().int().min(1).max(LIMITS.uploadParts);

const datasetKey = (id: string) => `datasets/${id}`;
const notFound = () => new ApiError(404, "dataset_not_found", "no such dataset");
const uploadNotFound = () => new ApiError(404, "upload_not_found", "no such upload (uploads expire 24 hours after they start)");

/** The contract's view of a dataset. */
const view = (r: DatasetRecord): Dataset => ({ id: r.id, name: r.name, bytes: r.bytes, sha256: r.sha256, createdAt: r.createdAt });
const uploadView = (r: UploadRecord): Upload => ({
  uploadId: r.uploadId,
  name: r.name,
  bytes: r.bytes,
  partBytes: r.partBytes,
  parts: r.parts,
  received: r.received,
  expiresAt: r.expiresAt,
});

/** Aborts this submitter's uploads that expired, in storage too (R2 would drop them after 7 days anyway). */
async function sweepUploads(env: Env, submitter: string): Promise<void> {
  for (const u of await submitterStub(env, submitter).expiredUploads(Date.now())) {
    await env.BLOBS.resumeMultipartUpload(u.key, u.r2UploadId)
      .abort()
      .catch(() => {});
  }
}

/** Which of `jobs` still run (a job past its retention answers 410: it has ended). */
async function running(env: Env, owner: string, jobs: string[]): Promise<string[]> {
  const states = await Promise.all(jobs.map(async (j) => ({ j, s: await jobStub(env, j).status(owner) })));
  return states.filter(({ s }) => s.ok && s.status.state === "running").map(({ j }) => j);
}

/** Datasets: uploaded once (single body or in parts), private to the token, read by jobs in line-aligned shards. */
export const datasetRoutes = new Hono<AppEnv>()
  .use(submitterAuth)
  .post("/", async (c) => {
    const { name } = parseOr400(NameQuery, c.req.query(), "query");
    const length = declaredLength(c.req.header("content-length"), LIMITS.datasetBodyBytes, "the dataset");
    // Expired uploads stop counting against the quota here too, not only when another upload starts.
    await sweepUploads(c.env, c.get("submitter"));
    const submitter = submitterStub(c.env, c.get("submitter"));
    const early = await submitter.datasetQuota(length, false);
    if (early) throw new ApiError(409, "dataset_quota", early.quota);
    const id = `d_${hex(16)}`;
    const key = datasetKey(id);
    const scan = new UploadScan();
    await streamThrough(c.req.raw.body, length, scan, (stream) => c.env.BLOBS.put(key, stream));
    const { sha256, quoted } = scan.finish();
    const record: DatasetRecord = { id, name, bytes: length, sha256, createdAt: Date.now(), key, quoted };
    const problem = await submitter.addDataset(record);
    if (problem) {
      await c.env.BLOBS.delete(key);
      throw new ApiError(409, "dataset_quota", problem.quota);
    }
    return c.json(view(record), 201);
  })
  .get("/", async (c) => c.json({ datasets: (await submitterStub(c.env, c.get("submitter")).datasets()).map(view) }))
  .post("/uploads", ...jsonBody(StartUpload), async (c) => {
    const { name, bytes, partBytes } = c.req.valid("json");
    const parts = Math.ceil(bytes / partBytes);
    if (parts > LIMITS.uploadParts)
      throw new ApiError(400, "invalid_body", `partBytes: ${bytes} bytes in parts of ${partBytes} make ${parts} parts, over ${LIMITS.uploadParts}`);
    await sweepUploads(c.env, c.get("submitter"));
    const submitter = submitterStub(c.env, c.get("submitter"));
    const early = await submitter.datasetQuota(bytes, true);
    if (early) throw new ApiError(409, "dataset_quota", early.quota);
    const datasetId = `d_${hex(16)}`;
    const key = datasetKey(datasetId);
    const multipart = await c.env.BLOBS.createMultipartUpload(key);
    const now = Date.now();
    const record: UploadRecord = {
      uploadId: `u_${hex(16)}`,
      name,
      bytes,
      partBytes,
      parts,
      received: 0,
      expiresAt: now + LIMITS.uploadTtlMs,
      key,
      datasetId,
      r2UploadId: multipart.uploadId,
      etags: [],
      scan: null,
    };
    const problem = await submitter.startUpload(record);
    if (problem) {
      await multipart.abort();
      throw new ApiError(409, "dataset_quota", problem.quota);
    }
    return c.json(uploadView(record), 201);
  })
  .get("/uploads/:uploadId", async (c) => {
    const id = c.req.param("uploadId");
    const record = UPLOAD_ID.test(id) ? await submitterStub(c.env, c.get("submitter")).upload(id, Date.now()) : undefined;
    if (!record) throw uploadNotFound();
    return c.json(uploadView(record));
  })
  .put("/uploads/:uploadId/parts/:part", async (c) => {
    const id = c.req.param("uploadId");
    if (!UPLOAD_ID.test(id)) throw uploadNotFound();
    const part = parseOr400(PartParam, c.req.param("part"), "part");
    const submitter = submitterStub(c.env, c.get("submitter"));
    const claim = await submitter.claimPart(id, part, Date.now());
    if (claim === undefined) throw uploadNotFound();
    if (claim === "in_progress") throw new ApiError(409, "part_in_progress", `part ${part} is being sent by another request`, { "retry-after": "5" });
    if (claim === "out_of_order") {
      const now = (await submitter.upload(id, Date.now()))!;
      throw new ApiError(409, "part_out_of_order", `parts go in order (the dataset is hashed as it arrives): send part ${now.received + 1} next`);
    }
    if (part > claim.parts) throw new ApiError(400, "invalid_part", `part: this upload has ${claim.parts} parts`);
    const expected = part < claim.parts ? claim.partBytes : claim.bytes - claim.partBytes * (claim.parts - 1);
    try {
      const length = declaredLength(c.req.header("content-length"), expected, `part ${part}`);
      if (length !== expected) throw new ApiError(400, "invalid_part", `part ${part} must be exactly ${expected} bytes, not ${length}`);
      const scan = new UploadScan(claim.scan ?? undefined);
      const multipart = c.env.BLOBS.resumeMultipartUpload(claim.key, claim.r2UploadId);
      const stored = await streamThrough(c.req.raw.body, length, scan, (stream) => multipart.uploadPart(part, stream));
      const next = await submitter.partReceived(id, part, stored.etag, scan.save());
      if (next === undefined) throw uploadNotFound();
      if (next === "out_of_order") throw new ApiError(409, "part_out_of_order", `part ${part} was received already`);
      return c.json(uploadView(next));
    } catch (err) {
      await submitter.partFailed(id, part);
      throw err;
    }
  })
  .post("/uploads/:uploadId/complete", async (c) => {
    const id = c.req.param("uploadId");
    const submitter = submitterStub(c.env, c.get("submitter"));
    const record = UPLOAD_ID.test(id) ? await submitter.upload(id, Date.now()) : undefined;
    if (!record) throw uploadNotFound();
    if (record.received !== record.parts) {
      throw new ApiError(409, "upload_incomplete", `${record.received} of ${record.parts} parts received; send part ${record.received + 1} next`);
    }
    const multipart = c.env.BLOBS.resumeMultipartUpload(record.key, record.r2UploadId);
    await multipart.complete(record.etags.map((etag, i) => ({ partNumber: i + 1, etag })));
    const { sha256, quoted } = new UploadScan(record.scan!).finish();
    const dataset: DatasetRecord = { id: record.datasetId, name: record.name, bytes: record.bytes, sha256, createdAt: Date.now(), key: record.key, quoted };
    await submitter.addDataset(dataset, id);
    return c.json(view(dataset), 201);
  })
  .delete("/uploads/:uploadId", async (c) => {
    const id = c.req.param("uploadId");
    const submitter = submitterStub(c.env, c.get("submitter"));
    const record = UPLOAD_ID.test(id) ? await submitter.upload(id, Date.now()) : undefined;
    if (!record) throw uploadNotFound();
    await submitter.dropUpload(id);
    await c.env.BLOBS.resumeMultipartUpload(record.key, record.r2UploadId)
      .abort()
      .catch(() => {});
    return c.json({ aborted: true });
  })
  .get("/:id", async (c) => {
    const id = c.req.param("id");
    const record = DATASET_ID.test(id) ? await submitterStub(c.env, c.get("submitter")).dataset(id) : undefined;
    if (!record) throw notFound();
    return c.json(view(record));
  })
  .delete("/:id", async (c) => {
    const id = c.req.param("id");
    if (!DATASET_ID.test(id)) throw notFound();
    const owner = c.get("submitter");
    const submitter = submitterStub(c.env, owner);
    const jobs = await submitter.datasetJobs(id);
    const live = await running(c.env, owner, jobs);
    const ended = jobs.filter((j) => !live.includes(j));
    if (live.length) {
      await submitter.unlinkDataset(id, ended);
      throw new ApiError(409, "dataset_in_use", `running job(s) read this dataset: ${live.slice(0, 5).join(", ")}; cancel them or wait`);
    }
    const removed = await submitter.removeDataset(id, ended);
    if (removed === undefined) throw notFound();
    if (removed === "in_use") throw new ApiError(409, "dataset_in_use", "a job started reading this dataset just now; retry once it ends");
    await c.env.BLOBS.delete(removed.key);
    return c.json({ deleted: true });
  });
