import { kernelErrorMessage, type KernelModule } from "../../shared/kernels/task.ts";
import { callError } from "./api.ts";
import { leaseGone, type InputLoader } from "./inputs.ts";
import type { ModuleLoader } from "./modules.ts";
import type { Outbox } from "./outbox.ts";
import type { KernelPool } from "./pool.ts";
import type { HeldLease, KernelErrorReason, PendingResult } from "./types.ts";

/** Default per-shard time limit, ms. */
const SHARD_TIMEOUT_MS = 120_000;

/**
 * How one shard ended. `ms` is the compute time. A kernel error is a result like an output:
 * `stored` with `failure` set. `unrunnable` means this volunteer could not run it (module
 * unavailable, unknown kernel, a built-in's worker died): the lease goes back. `no-input`: a
 * dataset shard's bytes could not be fetched (the coordinator stayed unreachable), which says
 * nothing about the shard or this volunteer's kernels: the lease goes back. `lost`: the
 * coordinator no longer honours the lease; `status` when this run learnt it (the input's answer).
 */
export type ShardEnd =
  | { kind: "stored"; ms: number; failure?: { reason: KernelErrorReason; error: string } }
  | { kind: "unrunnable"; reason: KernelErrorReason; error: string; ms: number }
  | { kind: "no-input"; error: string; ms: number }
  | { kind: "lost"; ms: number; status?: number }
  | { kind: "store-failed"; error: string; ms: number };

/** What {@link runShard} needs. */
export interface ShardDeps {
  pool: KernelPool;
  outbox: Outbox;
  /** Resolves published kernels' modules (leases with `module`). */
  modules?: ModuleLoader;
  /** Fetches dataset shards' bytes (leases with `inputUrl`); without it such leases are handed back. */
  inputs?: InputLoader;
  /** Time cap of a shard, ms; a published kernel's is also capped by its lease's lifetime. */
  timeoutMs?: number;
  /** The kernel returned an output after `ms`: its worker is free while the result is being stored. */
  computed?: (ms: number) => void;
  now: () => number;
}

/**
 * Computes one held lease on `pool` and stores its result, the output or the kernel's error, in
 * `outbox`. The caller keeps the lease among its held leases until this resolves, so a closing
 * page either releases it or finds its result stored: there is no moment where it is neither.
 */
export async function runShard(held: HeldLease, deps: ShardDeps): Promise<ShardEnd> {
  const { lease } = held;
  let module: KernelModule | undefined;
  if (lease.module) {
    try {
      if (!deps.modules) throw new Error("this volunteer cannot fetch published kernels");
      module = await deps.modules.load(lease.module);
    } catch (err) {
      return { kind: "unrunnable", reason: "module", error: `kernel module unavailable: ${(err as Error)?.message ?? err}`, ms: 0 };
    }
  }
  let input = lease.input;
  if (lease.inputUrl) {
    const got = await datasetInput(held, module, deps.inputs);
    if ("kind" in got) return got;
    input = got.input;
  }
  const cap = deps.timeoutMs ?? SHARD_TIMEOUT_MS;
  // Published kernels are capped by the lease TTL (README, "Kernels you bring"): the time the submitter granted a shard.
  const timeoutMs = module ? Math.min(cap, held.ttlMs) : cap;
  const outcome = await deps.pool.run({ kernel: lease.kernel, params: lease.params, input, module, timeLimitMs: timeoutMs }, { timeoutMs });
  let result: Pick<PendingResult, "output" | "error">;
  let failure: { reason: KernelErrorReason; error: string } | undefined;
  if (outcome.ok) (result = { output: outcome.output }), deps.computed?.(outcome.ms);
  else {
    // A built-in whose worker died says nothing about the shard (it may not have started).
    if (outcome.reason === "unsupported" || (outcome.reason === "crash" && !module)) {
      return { kind: "unrunnable", reason: outcome.reason, error: outcome.error, ms: outcome.ms };
    }
    failure = { reason: outcome.reason, error: kernelErrorMessage(outcome.error) };
    result = { error: { message: failure.error } };
  }
  // The coordinator dropped this lease meanwhile (heartbeat said 410): it would refuse the result.
  if (held.lost) return { kind: "lost", ms: outcome.ms };
  try {
    await deps.outbox.add({
      leaseId: lease.id,
      jobId: lease.jobId,
      shardId: lease.shardId,
      kernel: lease.kernel,
      ...result,
      computedAt: deps.now(),
      expiresAt: lease.expiresAt,
    });
  } catch (err) {
    return { kind: "store-failed", error: (err as Error)?.message ?? String(err), ms: outcome.ms };
  }
  return { kind: "stored", ms: outcome.ms, ...(failure && { failure }) };
}

const utf8 = new TextDecoder();

/**
 * What a dataset shard's kernel gets (README, "Datasets"): built-in kernels `{...input, text}`
 * with the shard's bytes as UTF-8, published kernels (js/1, wasm/1) the bytes themselves.
 */
async function datasetInput(held: HeldLease, module: KernelModule | undefined, inputs: InputLoader | undefined): Promise<{ input: unknown } | ShardEnd> {
  if (!inputs) return { kind: "no-input", error: "this volunteer cannot fetch dataset shards", ms: 0 };
  let bytes: Uint8Array;
  try {
    bytes = await inputs.load(held.lease, () => !held.lost);
  } catch (err) {
    if (held.lost) return { kind: "lost", ms: 0 };
    const error = callError(err);
    if (leaseGone(error)) return { kind: "lost", ms: 0, status: error.status };
    return { kind: "no-input", error: `shard input unavailable: ${error.message}`, ms: 0 };
  }
  if (held.lost) return { kind: "lost", ms: 0 };
  return { input: module ? bytes : { ...(held.lease.input as object), text: utf8.decode(bytes) } };
}
