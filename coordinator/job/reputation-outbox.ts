import type { Observation } from "../objects/volunteer-object.ts";
import { inWaves } from "../waves.ts";
import type { OutboxTable } from "./outbox-table.ts";

/** Observations a flush sends at once. */
const WAVE = 8;

/**
 * Reputation observations a job has made, batched per volunteer and class of work (checkable or
 * not) and sent with the alarm. Kept in the job's SQLite (`rep_outbox`), written in the same
 * step as the verdict that produced them and deleted only once the volunteer's record took them,
 * so an eviction or a failed call loses none. Proofs of wrongdoing go out separately (catches).
 */
export class ReputationOutbox {
  /** `table` is undefined while the job does not exist. */
  constructor(private readonly table: () => OutboxTable | undefined) {}

  agreed(volunteers: string[], uncheckable: boolean): void {
    for (const v of volunteers) this.#count(v, uncheckable, "agreed");
  }
  ringerPassed(volunteer: string, uncheckable: boolean): void {
    this.#update(volunteer, uncheckable, (o) => {
      o.ringersPassed = (o.ringersPassed ?? 0) + 1;
      o.agreed = (o.agreed ?? 0) + 1;
    });
  }
  /** The coordinator computed a shard and found the volunteer's lone output right: as good as a passed ringer. */
  confirmed(volunteer: string, uncheckable: boolean): void {
    this.#count(volunteer, uncheckable, "ringersPassed");
  }
  /** Outputs that lost a vote: the volunteer's record in that class starts over. */
  outvoted(volunteers: string[], uncheckable: boolean): void {
    for (const v of volunteers) {
      this.#update(v, uncheckable, (o) => {
        o.outvoted = (o.outvoted ?? 0) + 1;
        o.agreed = 0;
      });
    }
  }
  penalize(volunteers: string[]): void {
    const table = this.table();
    for (const v of volunteers) table?.putObservation(`p:${v}`, v, JSON.stringify({ penalized: true }));
  }
  /** Whether any observation waits to be sent. */
  get pending(): boolean {
    return this.table()?.hasObservations() ?? false;
  }

  /**
   * Hands up to `limit` observations to `send`, `WAVE` at a time; each is deleted once sent,
   * failures stay in flight and go first next time. A wave's deletions are one write (one commit,
   * where each deletion alone was one), and only a wave's calls queue at once on the records' side.
   */
  async flush(send: (volunteer: string, o: Observation) => Promise<void>, limit = 200): Promise<void> {
    const table = this.table();
    if (!table) return;
    await inWaves(
      table.takeObservations(limit),
      WAVE,
      ({ volunteer, obs }) => send(volunteer, JSON.parse(obs) as Observation),
      (wave, sent) => wave.forEach(({ k }, i) => sent[i]!.status === "fulfilled" && table.sent(k)),
    );
  }

  /** Adds one to a counter of the volunteer's pending observation: one write, no read. */
  #count(volunteer: string, uncheckable: boolean, counter: "agreed" | "ringersPassed"): void {
    const fresh: Observation = uncheckable ? { uncheckable: true, [counter]: 1 } : { [counter]: 1 };
    this.table()?.countObservation(key(volunteer, uncheckable), volunteer, counter, JSON.stringify(fresh));
  }

  #update(volunteer: string, uncheckable: boolean, change: (o: Observation) => void): void {
    const table = this.table();
    if (!table) return;
    const k = key(volunteer, uncheckable);
    const stored = table.observation(k);
    const o: Observation = stored ? JSON.parse(stored) : uncheckable ? { uncheckable: true } : {};
    change(o);
    table.putObservation(k, volunteer, JSON.stringify(o));
  }
}

/** The pending observation row of a volunteer in one class of work. */
const key = (volunteer: string, uncheckable: boolean) => `${uncheckable ? "u" : "c"}:${volunteer}`;
