/** What to do with a shard after one more replica output arrives. */
export type Decision = { kind: "accept"; hash: string } | { kind: "fail"; reason: string } | { kind: "wait"; addDeficit: number };

export interface QuorumInput {
  /** Submitted outputs grouped by canonical hash, any order. */
  groups: ReadonlyArray<{ hash: string; count: number }>;
  quorum: number;
  maxReplicas: number;
  /** Leases of this shard still out. */
  active: number;
  /** Replicas still to be issued. */
  deficit: number;
}

/**
 * Quorum rule: accept the first output that `quorum` distinct volunteers agree on. Without one,
 * make sure enough replicas are outstanding to reach it, and fail the shard once even the
 * remaining replica budget, all agreeing with the largest group, could not reach quorum.
 */
export function decide({ groups, quorum, maxReplicas, active, deficit }: QuorumInput): Decision {
  let best = { hash: "", count: 0 };
  let submitted = 0;
  for (const g of groups) {
    submitted += g.count;
    if (g.count > best.count) best = g;
  }
  if (best.count >= quorum) return { kind: "accept", hash: best.hash };
  const budget = maxReplicas - submitted;
  if (best.count + budget < quorum) {
    return {
      kind: "fail",
      reason: `no quorum: ${submitted} replica outputs in ${groups.length} disagreeing groups, ${quorum} needed to agree, at most ${maxReplicas} replicas`,
    };
  }
  const missing = quorum - best.count;
  const outstanding = active + deficit;
  const add = Math.max(0, Math.min(missing - outstanding, budget - outstanding));
  return { kind: "wait", addDeficit: add };
}
