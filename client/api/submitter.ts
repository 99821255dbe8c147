import type { z } from "zod";
import type { CreateJob } from "../../shared/schemas.ts";
import { pathId, rpc, type ConnectionOptions } from "./connection.ts";
import { datasetCalls } from "./datasets.ts";
import { kernelCalls } from "./kernels.ts";
import type { JobCreatedAnswer, JobListAnswer, JobResultAnswer, JobStatusAnswer } from "./responses.ts";
import { readJson } from "./transport.ts";
import { waitForJob, type WaitOptions } from "./wait.ts";

/**
 * A job as `POST /v1/jobs` takes it (`params` and `leaseTtlMs` may be left out). `kernel` is a
 * built-in's name (`primes.count`) or a published kernel's id (`k_...`).
 */
export type JobSpec = z.input<typeof CreateJob>;

/** Options of {@link createClient}. */
export interface ClientOptions extends ConnectionOptions {
  /** A submitter token (one of the coordinator's `SUBMIT_TOKENS`). */
  token: string;
}

/**
 * A submitter's client: every call is one HTTP call of the contract and resolves with its JSON
 * answer exactly as sent, or rejects with a `ColmeiaError` carrying status, code and message.
 * @example
 * const colmeia = createClient({ url: "http://127.0.0.1:8787", token: process.env.COLMEIA_TOKEN! });
 * const job = await colmeia.submit({ kernel: "primes.count", range: { start: 0, end: 1e6, step: 1e4 } });
 * await colmeia.wait(job.id, { onProgress: (s) => console.log(s.shards.done, "/", s.shards.total) });
 * console.log((await colmeia.result(job.id)).result); // { count: 78498 }
 */
export function createClient(options: ClientOptions) {
  const api = rpc(options, options.token);
  const job = api.v1.jobs[":id"];

  const status = async (id: string) => readJson<JobStatusAnswer>(await job.$get({ param: { id: pathId(id) } }));

  return {
    /** `POST /v1/jobs`: creates a job; answers `{id, state, shards}`. */
    // The route's declared input is the body *after* defaults (params, leaseTtlMs); the server
    // fills those in, so the spec goes as the caller wrote it.
    submit: async (spec: JobSpec) => readJson<JobCreatedAnswer>(await api.v1.jobs.$post({ json: spec as CreateJob })),

    /** `GET /v1/jobs/:id`: the job's status. */
    status,

    /**
     * Waits until the job is done, failed or cancelled and resolves with that final status (it
     * does not reject for a failed job: check `state`). `onProgress` sees every change.
     */
    wait: (id: string, waitOptions: WaitOptions = {}) =>
      waitForJob(
        {
          status: () => status(id),
          events: (lastEventId, signal) =>
            job.events.$get({ param: { id: pathId(id) } }, { headers: lastEventId ? { "last-event-id": lastEventId } : {}, init: { signal } }),
        },
        waitOptions,
      ),

    /** `GET /v1/jobs/:id/result`: `{id, result}` once done (a `409` error before). */
    result: async (id: string) => readJson<JobResultAnswer>(await job.result.$get({ param: { id: pathId(id) } })),

    /** `DELETE /v1/jobs/:id`: cancels the job; answers its status (now `cancelled`). */
    cancel: async (id: string) => readJson<JobStatusAnswer>(await job.$delete({ param: { id: pathId(id) } })),

    /** `GET /v1/jobs`: this token's jobs. */
    list: async () => readJson<JobListAnswer>(await api.v1.jobs.$get()),

    ...kernelCalls(api),
    ...datasetCalls(api, options, options.token),
  };
}

/** The client {@link createClient} returns. */
export type ColmeiaClient = ReturnType<typeof createClient>;
