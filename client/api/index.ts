/**
 * Colmeia's typed client, built on the coordinator's own route types (Hono RPC). Submitters
 * use {@link createClient}; volunteers use {@link registerVolunteer} and {@link volunteerClient}.
 * @example
 * import { createClient } from "colmeia";
 * const colmeia = createClient({ url: "http://127.0.0.1:8787", token: process.env.COLMEIA_TOKEN! });
 * const { id } = await colmeia.submit({ kernel: "primes.count", range: { start: 0, end: 1_000_000, step: 10_000 } });
 * const final = await colmeia.wait(id, { onProgress: (s) => console.log(`${s.shards.done}/${s.shards.total}`) });
 * if (final.state === "done") console.log((await colmeia.result(id)).result);
 */
export { createClient, type ClientOptions, type ColmeiaClient, type JobSpec } from "./submitter.ts";
export type { KernelSpec, PublishedKernel } from "./kernels.ts";
export type { UploadBody, UploadOptions, UploadSource } from "./upload-body.ts";
export { registerVolunteer, volunteerClient, type ShardResult, type VolunteerClient } from "./volunteer.ts";
export { ColmeiaError, isStatus } from "./errors.ts";
export { operatorClient } from "./operator.ts";
export type { WaitOptions } from "./wait.ts";
export type { ConnectionOptions } from "./connection.ts";
export type { TransportOptions } from "./transport.ts";
export {
  FINAL_STATES,
  type BatchResultsAnswer,
  type DatasetAnswer,
  type DatasetListAnswer,
  type DeepHealthAnswer,
  type DeletedAnswer,
  type JobCreatedAnswer,
  type JobListAnswer,
  type JobResultAnswer,
  type JobStatusAnswer,
  type KernelAnswer,
  type KernelListAnswer,
  type KernelManifestAnswer,
  type LeaseAnswer,
  type UploadAnswer,
  type VolunteerAnswer,
} from "./responses.ts";
