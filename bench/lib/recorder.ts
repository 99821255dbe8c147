import { Samples, type Summary } from "./stats.ts";

/** Request kinds a simulated volunteer makes; `roundTrip` is lease + result of the same work. */
export type Kind = "lease" | "result" | "roundTrip";

export interface WindowReport {
  seconds: number;
  /** Requests answered in the window, all kinds. */
  requests: number;
  /** Shard outputs the coordinator accepted for recording (202), as seen by the clients. */
  results: number;
  /** Lease calls that answered an empty list. */
  emptyLeases: number;
  latency: Partial<Record<Kind, Summary>>;
  /** "lease 500", "result 0 (ECONNRESET)", "result entry 410"… → count. */
  errors: Record<string, number>;
  /** Results per whole second of the window (to spot stalls). */
  perSecond: number[];
}

/**
 * Collects what the simulated volunteers see. Only replies that complete inside the
 * measurement window [open(), close()] count; warm-up and drain traffic is ignored.
 */
export class Recorder {
  #t0 = Number.POSITIVE_INFINITY;
  #t1 = Number.POSITIVE_INFINITY;
  #samples: Record<Kind, Samples> = { lease: new Samples(), result: new Samples(), roundTrip: new Samples() };
  #requests = 0;
  #results = 0;
  #empty = 0;
  #errors: Record<string, number> = {};
  #perSecond: number[] = [];
  /** Every request sent, warm-up included (for the request bound). */
  sent = 0;

  open(now = performance.now()): void {
    this.#t0 = now;
  }
  close(now = performance.now()): void {
    this.#t1 = now;
  }
  #inWindow(end: number): boolean {
    return end >= this.#t0 && end <= this.#t1;
  }

  request(kind: Exclude<Kind, "roundTrip">, ms: number, end: number, status: number, error?: string): void {
    if (!this.#inWindow(end)) return;
    this.#requests++;
    this.#samples[kind].add(ms);
    if (status < 200 || status > 299) this.error(`${kind} ${status}${status === 0 && error ? ` (${error.slice(0, 60)})` : ""}`, end);
  }
  roundTrip(ms: number, end: number): void {
    if (this.#inWindow(end)) this.#samples.roundTrip.add(ms);
  }
  accepted(n: number, end: number): void {
    if (!this.#inWindow(end)) return;
    this.#results += n;
    const s = Math.floor((end - this.#t0) / 1000);
    this.#perSecond[s] = (this.#perSecond[s] ?? 0) + n;
  }
  empty(end: number): void {
    if (this.#inWindow(end)) this.#empty++;
  }
  error(label: string, end: number): void {
    if (this.#inWindow(end)) this.#errors[label] = (this.#errors[label] ?? 0) + 1;
  }

  report(): WindowReport {
    const seconds = (this.#t1 - this.#t0) / 1000;
    const whole = Math.floor(seconds);
    const latency: WindowReport["latency"] = {};
    for (const kind of ["lease", "result", "roundTrip"] as const) {
      if (this.#samples[kind].count) latency[kind] = this.#samples[kind].summary();
    }
    return {
      seconds,
      requests: this.#requests,
      results: this.#results,
      emptyLeases: this.#empty,
      latency,
      errors: { ...this.#errors },
      perSecond: Array.from({ length: whole }, (_, i) => this.#perSecond[i] ?? 0),
    };
  }
}
