/** What {@link prefetchFor} weighs. */
export interface PrefetchInputs {
  threads: number;
  /** Mean compute time of recent shards, ms (undefined before the first). */
  meanShardMs?: number;
  /** Mean lease round trip, ms (undefined before the first). */
  leaseRttMs?: number;
  /** Duty cycle in (0, 1]: a throttled thread consumes shards more slowly. */
  dutyCycle: number;
}

/** Shards at or above this are "slow": none of them wait in a queue. */
export const SLOW_SHARD_MS = 2000;

/**
 * How many leases to keep queued beyond one per thread. Slow shards: none, so no shard waits
 * here while another volunteer could run it. Fast ones: twice what the threads consume during
 * one lease round trip, so they never run dry while a lease call is on its way; at least
 * max(4, 2 × threads), and never more than a lease call may ask for.
 * @example prefetchFor({ threads: 1, meanShardMs: 20, leaseRttMs: 200, dutyCycle: 1 }) // 20
 */
export function prefetchFor({ threads, meanShardMs, leaseRttMs, dutyCycle }: PrefetchInputs): number {
  if (meanShardMs !== undefined && meanShardMs >= SLOW_SHARD_MS) return 0;
  const perShard = Math.max(1, (meanShardMs ?? 50) / dutyCycle);
  const drained = Math.ceil((threads * (leaseRttMs ?? 0)) / perShard);
  return Math.max(0, Math.min(64 - threads, Math.max(4, 2 * threads, 2 * drained)));
}
