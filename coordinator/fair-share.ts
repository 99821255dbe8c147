import type { RunningJob } from "./objects/grid-object.ts";

/**
 * The order of one submitter's running jobs: priority first, then age, then id. The grid's
 * `runningJobs` query sorts the same way (`priority DESC, created_at, id`); keep the two in step.
 */
export function byRunOrder(a: RunningJob, b: RunningJob): number {
  return b.priority - a.priority || a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * Running jobs grouped by submitter, keeping the order they come in (the grid lists each
 * submitter's jobs by priority, then age). Done once per running-list refresh, not per lease call.
 */
export function groupByOwner(jobs: readonly RunningJob[]): Map<string, RunningJob[]> {
  const byOwner = new Map<string, RunningJob[]>();
  for (const job of jobs) {
    const list = byOwner.get(job.owner);
    if (list) list.push(job);
    else byOwner.set(job.owner, [job]);
  }
  return byOwner;
}

/**
 * Weighted fair share of volunteers between submitters (stride scheduling, per isolate): each
 * submitter has a pass that grows by leases / weight as it is served, and the next lease call
 * serves the submitter with the lowest pass first. A submitter that (re)appears starts at the
 * lowest pass of those present, so an absence earns no burst. Every isolate is fair on its own,
 * so the grid is in sum.
 */
export class FairShare {
  readonly #pass = new Map<string, number>();

  /** Each submitter's jobs (see {@link groupByOwner}), submitters in the order to serve them now. */
  order(byOwner: ReadonlyMap<string, RunningJob[]>): RunningJob[][] {
    for (const owner of this.#pass.keys()) if (!byOwner.has(owner)) this.#pass.delete(owner);
    const floor = Math.min(...[...byOwner.keys()].map((o) => this.#pass.get(o) ?? Number.POSITIVE_INFINITY));
    for (const owner of byOwner.keys()) if (!this.#pass.has(owner)) this.#pass.set(owner, Number.isFinite(floor) ? floor : 0);
    return [...byOwner.entries()].sort(([a], [b]) => this.#pass.get(a)! - this.#pass.get(b)! || (a < b ? -1 : 1)).map(([, list]) => list);
  }

  /** `owner` was served `leases` leases. */
  served(owner: string, leases: number, weight: number): void {
    this.#pass.set(owner, (this.#pass.get(owner) ?? 0) + leases / Math.max(weight, 1e-6));
  }
}
