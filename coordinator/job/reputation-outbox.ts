import type { Observation } from "../objects/volunteer-object.ts";

/**
 * Reputation observations a job has made, batched per volunteer and class of work (checkable or
 * not) and sent with the statistics flush. Proofs of wrongdoing are not batched: they go out at
 * once (see JobObject).
 */
export class ReputationOutbox {
  #pending = new Map<string, { volunteer: string; o: Observation }>();

  agreed(volunteers: string[], uncheckable: boolean): void {
    for (const v of volunteers) {
      const o = this.#get(v, uncheckable);
      o.agreed = (o.agreed ?? 0) + 1;
    }
  }
  ringerPassed(volunteer: string, uncheckable: boolean): void {
    const o = this.#get(volunteer, uncheckable);
    o.ringersPassed = (o.ringersPassed ?? 0) + 1;
    o.agreed = (o.agreed ?? 0) + 1;
  }
  /** The coordinator computed a shard and found the volunteer's lone output right: as good as a passed ringer. */
  confirmed(volunteer: string, uncheckable: boolean): void {
    const o = this.#get(volunteer, uncheckable);
    o.ringersPassed = (o.ringersPassed ?? 0) + 1;
  }
  /** Outputs that lost a vote: the volunteer's record in that class starts over. */
  outvoted(volunteers: string[], uncheckable: boolean): void {
    for (const v of volunteers) {
      const o = this.#get(v, uncheckable);
      o.outvoted = (o.outvoted ?? 0) + 1;
      o.agreed = 0;
    }
  }
  penalize(volunteers: string[]): void {
    for (const v of volunteers) this.#pending.set(`p:${v}`, { volunteer: v, o: { penalized: true } });
  }
  get size(): number {
    return this.#pending.size;
  }

  /** Hands every pending observation to `send`; those that fail stay pending. */
  async flush(send: (volunteer: string, o: Observation) => Promise<void>): Promise<void> {
    const batch = this.#pending;
    this.#pending = new Map();
    await Promise.all(
      [...batch].map(([key, item]) =>
        send(item.volunteer, item.o).catch(() => {
          if (!this.#pending.has(key)) this.#pending.set(key, item);
        }),
      ),
    );
  }

  #get(volunteer: string, uncheckable: boolean): Observation {
    const key = `${uncheckable ? "u" : "c"}:${volunteer}`;
    let item = this.#pending.get(key);
    if (!item) this.#pending.set(key, (item = { volunteer, o: uncheckable ? { uncheckable: true } : {} }));
    return item.o;
  }
}
