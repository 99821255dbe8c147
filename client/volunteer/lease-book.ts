import type { HeldLease, Lease } from "./types.ts";

/**
 * The leases a volunteer holds: queued for a free thread or being computed. Also remembers
 * shards whose kernel failed here (kernels are deterministic, so such a shard is handed back
 * at once if the coordinator offers it again, never recomputed).
 */
export function createLeaseBook(now: () => number = Date.now) {
  const queue: HeldLease[] = [];
  const running = new Map<string, HeldLease>();
  const failed = new Set<string>();
  const key = (lease: Lease) => `${lease.jobId}/${lease.shardId}`;

  return {
    /** Queues fresh leases; returns those refused because their shard already failed here. */
    hold(leases: Lease[]): Lease[] {
      const at = now();
      const refused: Lease[] = [];
      for (const lease of leases) {
        if (failed.has(key(lease))) refused.push(lease);
        else queue.push({ lease, renewedAt: at, ttlMs: Math.max(1000, lease.expiresAt - at) });
      }
      return refused;
    },
    /** The next queued lease still honoured, moved to running. */
    begin(): HeldLease | undefined {
      let held = queue.shift();
      while (held?.lost) held = queue.shift();
      if (!held) return undefined;
      held.startedAt = now();
      running.set(held.lease.id, held);
      return held;
    },
    /** The lease is off our hands (result stored, or handed back). */
    end(held: HeldLease) {
      running.delete(held.lease.id);
    },
    markFailed(lease: Lease) {
      if (failed.size >= 1000) failed.clear();
      failed.add(key(lease));
    },
    /** The coordinator no longer honours this lease. */
    lose(held: HeldLease) {
      held.lost = true;
      const at = queue.indexOf(held);
      if (at >= 0) queue.splice(at, 1);
    },
    /** Empties the queue (to hand its leases back). */
    takeQueued(): Lease[] {
      return queue.splice(0).map((h) => h.lease);
    },
    /** Every lease held, queued or running. */
    all: (): HeldLease[] => [...queue, ...running.values()],
    running: (): HeldLease[] => [...running.values()],
    get queued() {
      return queue.length;
    },
    get runningCount() {
      return running.size;
    },
  };
}

/** See {@link createLeaseBook}. */
export type LeaseBook = ReturnType<typeof createLeaseBook>;
