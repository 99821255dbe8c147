import type { Observation } from "../objects/volunteer-object.ts";

/**
 * Reputation observations a job has made, batched per volunteer and sent with the statistics
 * flush. Proofs of wrongdoing are not batched: they go out at once (see JobObject).
 */
export class ReputationOutbox {
  #pending = new Map<string, Observation>();

  agreed(volunteers: string[]): void {
    for (const v of volunteers) this.#get(v).agreed = (this.#get(v).agreed ?? 0) + 1;
  }
  ringerPassed(volunteer: string): void {
    const o = this.#get(volunteer);
    o.ringersPassed = (o.ringersPassed ?? 0) + 1;
    o.agreed = (o.agreed ?? 0) + 1;
  }
  penalize(volunteers: string[]): void {
    for (const v of volunteers) this.#pending.set(v, { penalized: true });
  }
  get size(): number {
    return this.#pending.size;
  }

  /** Hands every pending observation to `send`; those that fail stay pending. */
  async flush(send: (volunteer: string, o: Observation) => Promise<void>): Promise<void> {
    const batch = this.#pending;
    this.#pending = new Map();
    await Promise.all(
      [...batch].map(([v, o]) =>
        send(v, o).catch(() => {
          if (!this.#pending.has(v)) this.#pending.set(v, o);
        }),
      ),
    );
  }

  #get(v: string): Observation {
    let o = this.#pending.get(v);
    if (!o) this.#pending.set(v, (o = {}));
    return o;
  }
}
