/**
 * The volunteer's scheduling core, shared by the browser page and `colmeia volunteer`:
 * no DOM, no storage engine, only `fetch` and timers. Plug in a KernelPool (Web Workers,
 * worker_threads), an Outbox (IndexedDB, a file, memory) and an IdentityStore.
 */
export { ColmeiaError } from "../api/errors.ts";
export { createVolunteerApi, memoryIdentity } from "./api.ts";
export type { IdentityStore, VolunteerApi, VolunteerApiOptions, VolunteerInfo } from "./api.ts";
export { createSessionApi } from "./session-api.ts";
export type { SessionApiOptions } from "./session-api.ts";
export { createBackoff } from "./backoff.ts";
export type { Backoff, BackoffOptions } from "./backoff.ts";
export { createVolunteerLoop } from "./loop.ts";
export type { VolunteerLoop, VolunteerLoopOptions } from "./loop.ts";
export { createInputLoader } from "./inputs.ts";
export type { InputLoader, InputLoaderOptions } from "./inputs.ts";
export { createModuleLoader } from "./modules.ts";
export type { ModuleLoader, ModuleLoaderOptions, ModuleStore } from "./modules.ts";
export { createMemoryOutbox } from "./outbox.ts";
export type { Outbox } from "./outbox.ts";
export { createKernelPool } from "./pool.ts";
export type { ComputeReply, KernelPool, KernelPoolOptions, KernelTask, KernelWorker, RunOutcome } from "./pool.ts";
export { prefetchFor } from "./prefetch.ts";
export type { PrefetchInputs } from "./prefetch.ts";
export { createRateMeter } from "./rate.ts";
export type { RateMeter } from "./rate.ts";
export { sleep } from "./sleep.ts";
export type * from "./types.ts";
