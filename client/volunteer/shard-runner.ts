import type { Outbox } from "./outbox.ts";
import type { KernelPool } from "./pool.ts";
import type { HeldLease } from "./types.ts";

/** How one shard ended. `ms` is the compute time. */
export type ShardEnd =
  | { kind: "stored"; ms: number }
  | { kind: "kernel-error"; reason: "error" | "timeout"; error: string; ms: number }
  | { kind: "lost"; ms: number }
  | { kind: "store-failed"; error: string; ms: number };

/**
 * Computes one held lease on `pool` and, on success, stores the result in `outbox`.
 * The caller keeps the lease among its held leases until this resolves, so a closing page
 * either releases it or finds its result stored: there is no moment where it is neither.
 */
export async function runShard(
  held: HeldLease,
  deps: { pool: KernelPool; outbox: Outbox; timeoutMs?: number; now: () => number },
): Promise<ShardEnd> {
  const { lease } = held;
  const outcome = await deps.pool.run(
    { kernel: lease.kernel, params: lease.params, input: lease.input },
    { timeoutMs: deps.timeoutMs },
  );
  if (!outcome.ok) return { kind: "kernel-error", reason: outcome.reason, error: outcome.error, ms: outcome.ms };
  // The coordinator dropped this lease meanwhile (heartbeat said 410): it would refuse the result.
  if (held.lost) return { kind: "lost", ms: outcome.ms };
  try {
    await deps.outbox.add({
      leaseId: lease.id,
      jobId: lease.jobId,
      shardId: lease.shardId,
      kernel: lease.kernel,
      output: outcome.output,
      computedAt: deps.now(),
      expiresAt: lease.expiresAt,
    });
  } catch (err) {
    return { kind: "store-failed", error: (err as Error)?.message ?? String(err), ms: outcome.ms };
  }
  return { kind: "stored", ms: outcome.ms };
}
