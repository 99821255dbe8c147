import { LIMITS } from "../../../shared/limits.ts";

/** How much of a job body one submission may use for its `shards` array. */
export interface PackLimits {
  /** Largest job body, in bytes (the coordinator's `jobBodyBytes`). */
  bodyBytes: number;
  /** Most explicit shards per job. */
  shards: number;
}

/** The coordinator's published bounds (shared/limits.ts), less room for the rest of the body. */
export const DEFAULT_PACK_LIMITS: PackLimits = {
  bodyBytes: LIMITS.jobBodyBytes - 16 * 1024,
  shards: LIMITS.explicitShards,
};

/**
 * Groups shard inputs, in order, into as few jobs as fit the limits. `sizes[i]` is the byte
 * length of shard i's JSON. A single group means the whole input fits one job.
 * @example packShards([10, 10, 10], { bodyBytes: 25, shards: 100 }) // [[0, 2], [2, 3]]
 */
export function packShards(sizes: readonly number[], limits: PackLimits = DEFAULT_PACK_LIMITS): Array<[number, number]> {
  const groups: Array<[number, number]> = [];
  let first = 0;
  let bytes = 2; // "[" and "]"
  for (let i = 0; i < sizes.length; i++) {
    const add = sizes[i]! + (i > first ? 1 : 0); // the comma before it
    if (i > first && (bytes + add > limits.bodyBytes || i - first >= limits.shards)) {
      groups.push([first, i]);
      first = i;
      bytes = 2 + sizes[i]!;
    } else {
      bytes += add;
    }
  }
  if (sizes.length > first) groups.push([first, sizes.length]);
  return groups;
}
