import { describeError, log } from "../observe/log.ts";
import { volunteerStub } from "../stubs.ts";
import type { JobStore } from "./store.ts";

/** What {@link VolunteerRecords} needs of its job object. */
export interface RecordsHost {
  /** The job's store as it is now (a job past its retention gets a fresh one). */
  store(): JobStore;
  env: Env;
  waitUntil(work: Promise<unknown>): void;
  /** Sets the job's alarm to its earliest duty (the fields below are two of them). */
  schedule(): Promise<void>;
  /** Has the job backtrack the volunteer (JobObject.backtrack). */
  backtrack(volunteer: string): Promise<unknown>;
  /** A volunteer was blacklisted for the first time (a grid figure). */
  blacklisted(): void;
}

/** Contribution reports one alarm sends at most. */
const REPORTS_PER_ALARM = 50;

/**
 * What a job owes the volunteers' own records (VolunteerObject), beside reputation observations
 * (job/reputation-outbox.ts): the jobs each volunteer contributed to, so backtracking can find
 * them later, and catches, the proofs that a volunteer was wrong. Both are stored in the job's
 * SQLite before anything acts on them and retried from the alarm until the record took them.
 */
export class VolunteerRecords {
  /** When contributions whose report to a volunteer's record failed are to be sent again. */
  retryReportsAt: number | undefined;
  /** When stored catches are next to be delivered (undefined: none pending, as far as this instance knows). */
  catchesAt: number | undefined;
  #delivering = false;

  constructor(private readonly host: RecordsHost) {}

  /** Tells a volunteer's record it contributed here; retried from the alarm until it succeeds. */
  async report(volunteer: string): Promise<void> {
    const store = this.host.store();
    try {
      await volunteerStub(this.host.env, volunteer).contributed(volunteer, store.meta!.id);
      store.volunteers.reported(volunteer);
    } catch {
      this.retryReportsAt = Date.now() + 5000;
      await this.host.schedule();
    }
  }

  /**
   * The alarm's retry of reports that failed (and, while the job runs, of any left unreported).
   * A finished job asks its table when no retry time is known: after an eviction the in-memory
   * time is gone, and a report never sent would leave the job out of its volunteer's record.
   */
  async retryReports(now: number): Promise<void> {
    const store = this.host.store();
    if (!store.meta) return;
    const running = store.meta.state === "running";
    if (!running && this.retryReportsAt !== undefined && this.retryReportsAt > now) return;
    this.retryReportsAt = undefined;
    const owed = store.volunteers.unreported(REPORTS_PER_ALARM);
    for (const volunteer of owed) await this.report(volunteer);
    // A full batch: more may be owed, and the next alarm takes them (a failed report set its own time).
    if (!running && this.retryReportsAt === undefined && owed.length === REPORTS_PER_ALARM) this.retryReportsAt = Date.now() + 1000;
  }

  /**
   * A volunteer was proven wrong. The catch is stored, and the volunteer banned here, in the same
   * synchronous step that rejected its output, so no eviction or failed call can lose it; its
   * blacklisting (which has every job it touched backtrack) is then delivered and retried from
   * the alarm until its record acknowledges it.
   */
  caught(volunteer: string, reason: string): void {
    this.host.store().volunteers.caught(volunteer, reason, Date.now());
    this.catchesAt = Date.now();
    this.host.waitUntil(this.#deliverCatches());
  }

  /** The alarm's delivery of pending catches. After an eviction the in-memory hint is gone: the table itself says what is pending. */
  async deliverPending(): Promise<void> {
    const store = this.host.store();
    if (store.meta && (this.catchesAt !== undefined || store.volunteers.hasCatches())) await this.#deliverCatches();
  }

  /**
   * Delivers stored catches: blacklist at the volunteer's record, backtrack here, then forget the catch.
   *
   * This is where backtracking crosses jobs, job → volunteer → job: the caught volunteer's
   * VolunteerObject (`blacklist`) calls `backtrack` on every job its record lists (those where an
   * output of it was accepted), then this job backtracks it too, and each of those jobs reopens
   * the shards accepted on its word (job/backtrack.ts). A job may prove further volunteers wrong
   * while it backtracks (its own checks of the reopened shards), which stores their catches there
   * and starts the same cycle for them. It ends because each step is idempotent and one-way: a
   * volunteer is banned before its catch is sent, a banned volunteer's outputs are rejected once
   * and never accepted again (so a second backtrack for it finds nothing to reopen), and a catch
   * is forgotten only once its record acknowledged it. A job that reports a contribution of a
   * volunteer already blacklisted gets the same `backtrack` call back (VolunteerObject.contributed).
   */
  async #deliverCatches(): Promise<void> {
    if (this.#delivering) return;
    this.#delivering = true;
    const store = this.host.store();
    try {
      for (const { volunteer, reason } of store.volunteers.catches(20)) {
        try {
          const { fresh } = await volunteerStub(this.host.env, volunteer).blacklist(volunteer, reason);
          if (fresh) this.host.blacklisted();
          await this.host.backtrack(volunteer);
          store.volunteers.delivered(volunteer);
        } catch (err) {
          log("error", "delivering a catch failed; retrying", { jobId: store.meta?.id, volunteerId: volunteer, ...describeError(err) });
        }
      }
      this.catchesAt = store.volunteers.hasCatches() ? Date.now() + 5000 : undefined;
    } finally {
      this.#delivering = false;
    }
    await this.host.schedule();
  }
}
