import type { GridObject } from "./objects/grid-object.ts";
import type { JobObject } from "./objects/job-object.ts";
import type { RateLimiterObject } from "./objects/rate-limiter-object.ts";
import type { SubmitterObject } from "./objects/submitter-object.ts";
import type { VolunteerObject } from "./objects/volunteer-object.ts";

/**
 * Typed RPC stubs for the coordinator's Durable Objects. Methods are called over RPC exactly as
 * declared (they all return structured-clonable data); typing them by the class's own method
 * signatures avoids the RPC mapper's deep instantiation of JSON-valued fields.
 */
type Methods<T, K extends keyof T> = Pick<T, K>;
type JobApi = Methods<
  JobObject,
  | "create"
  | "status"
  | "result"
  | "cancel"
  | "lease"
  | "submit"
  | "leaseMany"
  | "submitMany"
  | "heartbeat"
  | "release"
  | "events"
  | "backtrack"
  | "shards"
  | "leaseInput"
  | "inputGone"
>;
type VolunteerApi = Methods<VolunteerObject, "profile" | "me" | "credited" | "observe" | "contributed" | "blacklist" | "vouch">;
type SubmitterApi = Methods<
  SubmitterObject,
  | "addJob"
  | "jobs"
  | "webhookSecret"
  | "addKernel"
  | "kernel"
  | "kernels"
  | "kernelCount"
  | "claimKey"
  | "abandonKey"
  | "datasetQuota"
  | "addDataset"
  | "dataset"
  | "datasets"
  | "useDataset"
  | "datasetJobs"
  | "removeDataset"
  | "unlinkDataset"
  | "startUpload"
  | "upload"
  | "claimPart"
  | "partFailed"
  | "partReceived"
  | "dropUpload"
  | "expiredUploads"
>;
type GridApi = Methods<GridObject, "secret" | "jobStarted" | "jobEnded" | "runningJobs" | "admit" | "unadmit" | "volunteerRegistered" | "report" | "stats">;
type LimiterApi = Methods<RateLimiterObject, "take" | "takeUpTo">;

/** Names kept per namespace; past this the map starts over (the hot names come straight back). */
const MAX_NAMES = 4096;
const ids = new WeakMap<DurableObjectNamespace, Map<string, DurableObjectId>>();

/**
 * The object id for `name`, kept per isolate. `idFromName` hashes the name on every call, and the
 * hot paths ask for the same few names thousands of times a second: the gateways on every volunteer
 * call, a running job on every batch a gateway sends it, the grid. An id is a plain value (no I/O
 * and no request it belongs to), so one made for one request serves every later one; stubs are
 * still made per call.
 */
export function objectId(ns: DurableObjectNamespace, name: string): DurableObjectId {
  let named = ids.get(ns);
  if (!named) ids.set(ns, (named = new Map()));
  let id = named.get(name);
  if (!id) {
    if (named.size >= MAX_NAMES) named.clear();
    id = ns.idFromName(name);
    named.set(name, id);
  }
  return id;
}

export const jobStub = (env: Env, id: string) => env.JOBS.get(objectId(env.JOBS, id)) as unknown as JobApi;
export const submitterStub = (env: Env, submitter: string) => env.SUBMITTERS.get(objectId(env.SUBMITTERS, submitter)) as unknown as SubmitterApi;
export const gridStub = (env: Env) => env.GRID.get(objectId(env.GRID, "grid")) as unknown as GridApi;
export const volunteerStub = (env: Env, id: string) => env.VOLUNTEERS.get(env.VOLUNTEERS.idFromName(id)) as unknown as VolunteerApi;
export const limiterStub = (env: Env, key: string) => env.LIMITER.get(env.LIMITER.idFromName(key)) as unknown as LimiterApi;
