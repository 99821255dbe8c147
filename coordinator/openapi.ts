import { z } from "zod";
import { kernels } from "../shared/kernels/registry.ts";
import { LIMITS } from "../shared/limits.ts";
import * as S from "../shared/schemas.ts";
import * as Session from "../shared/session.ts";
import { SESSION_LIMITS, SESSION_PROTOCOL } from "../shared/session.ts";
import { metricFamilies } from "./observe/families.ts";

const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: "input", unrepresentable: "any" });
const json = (s: z.ZodType) => ({ content: { "application/json": { schema: schema(s) } } });
const ok = (description: string, s?: z.ZodType) => ({ description, ...(s && json(s)) });
const errors = { "4XX": ok("error (see the error shape)", S.ErrorBody) };
const bearer = [{ bearer: [] }];
const operator = [{ operator: [] }, {}];

/** The families `GET /metrics` exports: name, type and help. */
const metricList = () =>
  metricFamilies({ counters: {}, volunteersActive: 0, jobsRunning: 0, jobStorage: { total: 0, largest: 0 }, gridBytes: 0, at: 0 }, []).map(
    ({ name, type, help }) => ({ name, type, help }),
  );

const healthSchema = {
  type: "object",
  required: ["verdict", "checks"],
  properties: {
    verdict: { enum: ["ok", "degraded", "failing"], description: "failing: a critical check failed (503); degraded: only a warning did" },
    checks: {
      type: "array",
      items: {
        type: "object",
        required: ["name", "ok", "ms", "detail"],
        properties: { name: { type: "string" }, ok: { type: "boolean" }, ms: { type: "number" }, detail: { type: "string" } },
      },
    },
  },
};

/** How volunteer sessions work, for the document's description (the README says the same). */
const SESSION_DESCRIPTION = [
  "Volunteer sessions: GET /v1/session with Upgrade: websocket opens a WebSocket to the volunteer's gateway. Authenticate with",
  `Authorization: Bearer <volunteer token>, or (browsers) offer the subprotocols "${SESSION_PROTOCOL}" and "bearer.<token>"; the server selects ${SESSION_PROTOCOL}.`,
  'The server first sends {"type":"ready","volunteer"}. Each request is one JSON text message with an id (string or integer) the answer repeats:',
  '{"type":"lease","id","max":1-64,"wait"?:bool} (POST /v1/leases), {"type":"results","id","results":[{leaseId, output|error}]} (POST /v1/results),',
  '{"type":"heartbeat","id","leaseId"} and {"type":"release","id","leaseId"} (POST /v1/leases/:id/heartbeat, /release).',
  'Each answer is {"type":"reply","id","status","body"}: status and body exactly as the HTTP call answers them (403 another volunteer\'s lease, 404, 409, 410, 400 with the field named).',
  'A lease with wait:true that found nothing leaves the session waiting: when a job starts the server pushes {"type":"work","leases":[...]} (at most max), once; lease again after it.',
  "Send any message soon after a push (e.g. a heartbeat of its first lease): a session that closes before sending one gets its pushed leases released.",
  "A message that cannot be read is answered with id null: 400 invalid_json (also binary frames), 413 body_too_large over x-colmeia-session.limits.messageBytes,",
  '429 rate_limited past messagesPerSecond (a session refused a burst\'s worth within 10 s is closed with 1008). Text "ping" is answered "pong" without waking anything.',
  "Upgrades beyond sessionsPerVolunteer answer 429 too_many_sessions, beyond sessionsPerGateway 503 sessions_full (use HTTP).",
  "Frames are never compressed: the server declines permessage-deflate.",
].join(" ");

/** The OpenAPI 3.1 document, generated from the same schemas that validate requests. */
export function openApiDocument() {
  const op = (summary: string, extra: Record<string, unknown> = {}) => ({ summary, responses: { ...errors }, ...extra });
  return {
    openapi: "3.1.0",
    info: { title: "Colmeia coordinator", version: "1", description: SESSION_DESCRIPTION },
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer" },
        operator: { type: "http", scheme: "bearer", description: "METRICS_TOKEN; the operator endpoints are open when it is not set" },
      },
    },
    "x-colmeia-limits": LIMITS,
    "x-colmeia-session": {
      protocol: SESSION_PROTOCOL,
      limits: SESSION_LIMITS,
      request: schema(Session.SessionRequest),
      message: schema(Session.SessionMessage),
    },
    "x-colmeia-metrics": metricList(),
    "x-colmeia-kernels": Object.fromEntries(
      [...kernels.values()].map((k) => [
        k.name,
        { description: k.description, acceptsRange: k.acceptsRange, params: schema(k.params), input: schema(k.input), output: schema(k.output) },
      ]),
    ),
    paths: {
      "/v1/jobs": {
        post: op("Create a job", {
          security: bearer,
          parameters: [
            {
              name: "Idempotency-Key",
              in: "header",
              required: false,
              schema: { type: "string", minLength: 1, maxLength: 255, pattern: "^[\\x20-\\x7e]+$" },
              description: "same key and body within 24 h → the same job (201 again, idempotent-replayed: true); another body → 409 idempotency_conflict",
            },
          ],
          requestBody: json(S.CreateJob),
          responses: { 201: ok("created", S.JobStatus), ...errors },
        }),
        get: op("List this submitter's jobs (newest first; ?limit=1..500&before=<next>)", { security: bearer, responses: { 200: ok("jobs"), ...errors } }),
      },
      "/v1/jobs/{id}": {
        get: op("Job status", { security: bearer, responses: { 200: ok("status", S.JobStatus), ...errors } }),
        delete: op("Cancel a job", { security: bearer, responses: { 200: ok("status", S.JobStatus), ...errors } }),
      },
      "/v1/jobs/{id}/result": { get: op("Merged result once done", { security: bearer, responses: { 200: ok("result"), ...errors } }) },
      "/v1/jobs/{id}/shards": {
        get: op("Shards with their accepted outputs (?after=<index>&limit=1..1000)", { security: bearer, responses: { 200: ok("shards"), ...errors } }),
      },
      "/v1/jobs/{id}/events": {
        get: op("Server-Sent Events of the job's status", { security: bearer, responses: { 200: ok("text/event-stream"), ...errors } }),
      },
      "/v1/kernels": {
        post: op("Publish a kernel (js/1 source or wasm/1 module in base64); 201 new, 200 already published (same id)", {
          security: bearer,
          requestBody: json(S.PublishKernel),
          responses: { 200: ok("already published", S.KernelManifest), 201: ok("published", S.KernelManifest), ...errors },
        }),
        get: op("The built-in kernels and this submitter's published ones", { security: bearer, responses: { 200: ok("kernels"), ...errors } }),
      },
      "/v1/kernels/{id}": { get: op("A kernel's manifest", { security: bearer, responses: { 200: ok("manifest", S.KernelManifest), ...errors } }) },
      "/v1/kernels/{id}/module": {
        get: op("A published kernel's code, for volunteers (immutable; application/wasm or text/javascript)", {
          security: bearer,
          responses: { 200: ok("module bytes"), ...errors },
        }),
      },
      "/v1/datasets": {
        post: op("Upload a dataset in one body (?name=<file name>; raw bytes with content-length, up to datasetBodyBytes)", {
          security: bearer,
          parameters: [{ name: "name", in: "query", required: true, schema: schema(S.DatasetName) }],
          requestBody: { content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } } },
          responses: { 201: ok("stored", S.Dataset), ...errors },
        }),
        get: op("This submitter's datasets", { security: bearer, responses: { 200: ok("datasets"), ...errors } }),
      },
      "/v1/datasets/{id}": {
        get: op("A dataset", { security: bearer, responses: { 200: ok("dataset", S.Dataset), ...errors } }),
        delete: op("Delete a dataset (409 dataset_in_use while a running job reads it)", { security: bearer, responses: { 200: ok("deleted"), ...errors } }),
      },
      "/v1/datasets/uploads": {
        post: op(
          "Start a multipart upload (larger files): then PUT parts 1..parts in order (each exactly partBytes but the last), then POST complete. " +
            "Parts must go in order because the dataset is hashed as it arrives; GET the upload to learn where to resume (send part received+1). " +
            "Unfinished uploads are dropped after uploadTtlMs.",
          { security: bearer, requestBody: json(S.StartUpload), responses: { 201: ok("upload", S.Upload), ...errors } },
        ),
      },
      "/v1/datasets/uploads/{uploadId}": {
        get: op("Where an upload stands", { security: bearer, responses: { 200: ok("upload", S.Upload), ...errors } }),
        delete: op("Abort an upload", { security: bearer, responses: { 200: ok("aborted"), ...errors } }),
      },
      "/v1/datasets/uploads/{uploadId}/parts/{part}": {
        put: op("Send part `part` (1-based; 409 part_out_of_order unless it is received+1)", {
          security: bearer,
          requestBody: { content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } } },
          responses: { 200: ok("upload", S.Upload), ...errors },
        }),
      },
      "/v1/datasets/uploads/{uploadId}/complete": {
        post: op("Finish an upload once every part is in: the dataset is listed", {
          security: bearer,
          responses: { 201: ok("dataset", S.Dataset), ...errors },
        }),
      },
      "/v1/leases/{id}/input": {
        get: op("A dataset lease's bytes (its `inputUrl`): exactly the records of the shard, for the lease's holder", {
          security: bearer,
          responses: { 200: ok("application/octet-stream"), ...errors },
        }),
      },
      "/v1/webhook-secret": { get: op("This submitter's webhook signing secret", { security: bearer, responses: { 200: ok("secret"), ...errors } }) },
      "/v1/volunteers": {
        post: op("Register a volunteer (with {key} from VOLUNTEER_KEYS: vouched for, trusted from the start)", {
          requestBody: json(S.RegisterVolunteer),
          responses: { 201: ok("id and token"), ...errors },
        }),
      },
      "/v1/volunteers/me": { get: op("This volunteer's credit", { security: bearer, responses: { 200: ok("credit"), ...errors } }) },
      "/v1/leases": { post: op("Lease shards", { security: bearer, requestBody: json(S.LeaseRequest), responses: { 200: ok("leases"), ...errors } }) },
      "/v1/leases/{id}/result": {
        post: op("Submit one output", { security: bearer, requestBody: json(S.ResultSubmit), responses: { 202: ok("received"), ...errors } }),
      },
      "/v1/results": {
        post: op("Submit outputs in a batch", { security: bearer, requestBody: json(S.BatchResults), responses: { 200: ok("per-lease statuses"), ...errors } }),
      },
      "/v1/leases/{id}/heartbeat": { post: op("Extend a lease", { security: bearer, responses: { 200: ok("new expiresAt"), ...errors } }) },
      "/v1/leases/{id}/release": { post: op("Give a lease back", { security: bearer, responses: { 200: ok("released"), ...errors } }) },
      "/v1/session": {
        get: op("Open a volunteer session: a WebSocket (Upgrade: websocket) speaking the protocol in info.description and x-colmeia-session", {
          security: bearer,
          parameters: [
            {
              name: "Sec-WebSocket-Protocol",
              in: "header",
              required: false,
              description: `${SESSION_PROTOCOL}, and (instead of Authorization, for browsers) bearer.<volunteer token>`,
              schema: { type: "string" },
            },
          ],
          responses: { 101: { description: "switching protocols: the session is open" }, 426: ok("not a WebSocket upgrade", S.ErrorBody), ...errors },
        }),
      },
      "/v1/stats": { get: op("Grid-wide figures", { responses: { 200: ok("stats", S.Stats), ...errors } }) },
      "/healthz": { get: op("Liveness", { responses: { 200: ok("ok") } }) },
      "/metrics": {
        get: op("Prometheus text exposition (0.0.4) of the grid's counters, gauges and request histograms (families in x-colmeia-metrics)", {
          security: operator,
          responses: { 200: { description: "metrics", content: { "text/plain; version=0.0.4": { schema: { type: "string" } } } }, ...errors },
        }),
      },
      "/v1/health/deep": {
        get: op("Deep health check: every binding (R2 probe object written, read and deleted), a job object round trip, storage headroom, secrets", {
          security: operator,
          responses: {
            200: { description: "ok or degraded", content: { "application/json": { schema: healthSchema } } },
            503: { description: "failing", content: { "application/json": { schema: healthSchema } } },
            ...errors,
          },
        }),
      },
    },
  };
}
