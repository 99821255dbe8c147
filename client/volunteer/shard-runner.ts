import { kernelErrorMessage, type KernelModule } from "../../shared/kernels/task.ts";
import type { ModuleLoader } from "./modules.ts";
import type { Outbox } from "./outbox.ts";
import type { KernelPool } from "./pool.ts";
import type { HeldLease, KernelErrorReason, PendingResult } from "./types.ts";

/** Default per-shard time limit, ms. */
const SHARD_TIMEOUT_MS = 120_000;

/**
 * How one shard ended. `ms` is the compute time. A kernel error is a result like an output:
 * `stored` with `failure` set. `unrunnable` means this volunteer could not run it (module
 * unavailable, unknown kernel, a built-in's worker died): the lease goes back.
 */
export type ShardEnd =
  | { kind: "stored"; ms: number; failure?: { reason: KernelErrorReason; error: string } }
  | { kind: "unrunnable"; reason: KernelErrorReason; error: string; ms: number }
  | { kind: "lost"; ms: number }
  | { kind: "store-failed"; error: string; ms: number };

/** What {@link runShard} needs. */
export interface ShardDeps {
  pool: KernelPool;
  outbox: Outbox;
  /** Resolves published kernels' modules (leases with `module`). */
  modules?: ModuleLoader;
  /** Time cap of a shard, ms; a published kernel's is also capped by its lease's lifetime. */
  timeoutMs?: number;
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
  const cap = deps.timeoutMs ?? SHARD_TIMEOUT_MS;
  // Published kernels are capped by the lease TTL (API.md): the time the submitter granted a shard.
  const timeoutMs = module ? Math.min(cap, held.ttlMs) : cap;
  const outcome = await deps.pool.run(
    { kernel: lease.kernel, params: lease.params, input: lease.input, module, timeLimitMs: timeoutMs },
    { timeoutMs },
  );
  let result: Pick<PendingResult, "output" | "error">;
  let failure: { reason: KernelErrorReason; error: string } | undefined;
  if (outcome.ok) result = { output: outcome.output };
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
