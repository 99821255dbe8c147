import type { JobMeta } from "./meta.ts";

/** A running job re-announces itself to the grid this often, so the grid's list can never lose it for long. */
export const ANNOUNCE_MS = 30_000;
/** Reputation observations wait this long, so one alarm sends many together. */
const REPUTATION_DELAY_MS = 500;
/**
 * Past its retention a job is deleted at its next alarm, unless something is still owed (a
 * webhook, a catch, a contribution report): it then wakes this often to try again, never at once.
 */
export const EXPIRY_RETRY_MS = 60_000;

/** Every duty of a job object that needs waking up later, as its object knows it now. */
export interface Duties {
  meta: JobMeta;
  now: number;
  /** Earliest deadline of an outstanding lease (expired leases are re-queued). */
  leaseExpiry: number | undefined;
  /** When grid statistics are due to be flushed. */
  statsDue: number | undefined;
  /** Reputation observations are waiting to be sent to volunteers' records. */
  reputationPending: boolean;
  /** When a running job last announced itself to the grid. */
  announcedAt: number;
  /** When dataset shards left unchecked by a batch's read budget are to be confirmed. */
  confirmAt: number | undefined;
  /** When failed contribution reports are to be sent again. */
  reportsRetryAt: number | undefined;
  /** When stored catches are to be delivered (again). */
  catchesAt: number | undefined;
  /** When a finished job's storage is due for deletion. */
  retainedUntil: number | undefined;
}

/**
 * When the job's object must next wake up. The one rule: the alarm is set to the earliest time any
 * duty is due, and every alarm run does every duty that is due, then asks again. So a duty never
 * needs a timer of its own: it only needs a line here saying when it is due.
 */
export function nextWake(d: Duties): number | undefined {
  const { meta, now } = d;
  const running = meta.state === "running";
  const times = [
    d.leaseExpiry,
    d.statsDue,
    // The completion webhook: attempted once the job ended, retried with backoff.
    !running && meta.notify?.state === "pending" ? (meta.notify.nextAt ?? now) : undefined,
    d.reputationPending ? now + REPUTATION_DELAY_MS : undefined,
    running ? d.announcedAt + ANNOUNCE_MS : undefined,
    // A backtrack's rebuild of the merged result goes on a bounded batch per alarm.
    meta.rebuilding ? now : undefined,
    running ? d.confirmAt : undefined,
    d.reportsRetryAt,
    d.catchesAt,
    // Already past: the last alarm found something still owed, so not again at once (a hot loop).
    d.retainedUntil === undefined ? undefined : d.retainedUntil > now ? d.retainedUntil : now + EXPIRY_RETRY_MS,
  ].filter((t): t is number => t !== undefined);
  return times.length ? Math.max(1, Math.min(...times)) : undefined;
}

/**
 * A Durable Object's one alarm, moved only earlier than it is set (or set afresh when it is
 * missing or overdue): a later time would postpone a duty already due sooner.
 */
export class Alarm {
  /** The alarm time as last set (undefined: not read yet, null: none). */
  #at: number | null | undefined;

  constructor(private readonly storage: DurableObjectStorage) {}

  /** The alarm is known not to be set: it has just fired, or the storage was deleted. */
  unset(): void {
    this.#at = null;
  }

  /**
   * Whether the alarm is known to be set and not overdue. Such an alarm comes no later than every
   * duty known when it was last set: `set` moves it only earlier, except an overdue one (whose run,
   * about to happen, sets it afresh from every duty).
   */
  pending(now: number): boolean {
    return this.#at != null && this.#at >= now - 1000;
  }

  /** Sets the alarm to `at` unless it is already set sooner. */
  async set(at: number | undefined): Promise<void> {
    if (at === undefined) return;
    // The alarm time is kept in memory: reading it back on every lease and result costs a storage round trip.
    if (this.#at === undefined) this.#at = await this.storage.getAlarm();
    if (this.#at === null || this.#at > at || this.#at < Date.now() - 1000) {
      this.#at = at;
      await this.storage.setAlarm(at);
    }
  }
}
