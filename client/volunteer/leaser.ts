import type { ColmeiaError } from "../api/errors.ts";
import { callError, type VolunteerApi } from "./api.ts";
import type { Backoff } from "./backoff.ts";
import type { Notifier } from "./notifier.ts";
import { sleep } from "./sleep.ts";
import type { Lease } from "./types.ts";

/** What the leaser needs from the loop. */
export interface LeaserDeps {
  api: Pick<VolunteerApi, "lease" | "work">;
  /** How many leases to ask for now; 0 when enough are held. */
  want(): number;
  /** Takes fresh leases; returns how many it kept (the rest it handed back). */
  accept(leases: Lease[]): number;
  /** Notified when held leases drop, so `want()` may have grown. */
  needed: Notifier;
  offline: Backoff;
  idle: Backoff;
  report: {
    /** The coordinator answered a lease call after `ms`. */
    online(ms: number): void;
    offline(error: ColmeiaError, retryAt: number): void;
    failed(message: string): void;
    /** No work right now (next try at `retryAt`, or none when work will be pushed), or work again (false). */
    waiting(waiting: boolean, retryAt?: number): void;
  };
  now: () => number;
}

/**
 * Leases in batches until `signal` aborts: asks for `want()` leases when the queue runs low,
 * backs off with jitter while the coordinator has no work or cannot be reached.
 */
export async function runLeaser(deps: LeaserDeps, signal: AbortSignal): Promise<void> {
  const { offline, idle, report, now } = deps;
  while (!signal.aborted) {
    const want = Math.min(64, deps.want());
    if (want <= 0) {
      await deps.needed.wait(signal);
      continue;
    }
    let leases: Lease[];
    const asked = now();
    try {
      leases = await deps.api.lease(want);
      offline.reset();
      report.online(now() - asked);
      // Nothing to do, on a session: the coordinator pushes work when there is some, no polling.
      if (!leases.length && deps.api.work) {
        const pushed = deps.api.work(signal);
        report.waiting(true);
        const got = await pushed;
        if (got !== null && !got.length) continue; // stopped waiting (paused): ask again if still running
        if (got !== null) leases = got;
      }
    } catch (err) {
      const error = callError(err);
      const delay = error.retryAfterMs ?? offline.next();
      if (error.retryable) report.offline(error, now() + delay);
      report.failed(`leasing failed: ${error.message}`);
      await sleep(delay, signal);
      continue;
    }
    // An empty answer, or only shards that already failed here: wait before asking again.
    if (deps.accept(leases) === 0) {
      const delay = idle.next();
      if (!leases.length) report.waiting(true, now() + delay);
      await sleep(delay, signal);
      continue;
    }
    idle.reset();
    report.waiting(false);
  }
}
