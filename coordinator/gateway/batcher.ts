/**
 * Coalesces calls to one destination: the first call goes out at once; calls made while it is in
 * flight wait and go out together as the next call (at most `maxItems` a call), and so on. No
 * timer: under light load every call travels alone with no added delay; under heavy load the
 * destination sees about one call per round trip, each carrying everything that arrived meanwhile.
 *
 * @example
 * const b = new Batcher((xs: number[]) => job.leaseMany(xs), 64);
 * const [one, two] = await Promise.all([b.call(1), b.call(2)]); // one call, or two
 */
export class Batcher<I, O> {
  readonly #send: (items: I[]) => Promise<O[]>;
  readonly #maxItems: number;
  #queue: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  #busy = false;
  /** Calls sent and items carried (tests and logs). */
  readonly sent = { calls: 0, items: 0 };

  constructor(send: (items: I[]) => Promise<O[]>, maxItems: number) {
    this.#send = send;
    this.#maxItems = maxItems;
  }

  /** Whether nothing waits or travels (the owner may drop an idle batcher). */
  get idle(): boolean {
    return !this.#busy && this.#queue.length === 0;
  }

  call(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (!this.#busy) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#busy = true;
    try {
      while (this.#queue.length) {
        const batch = this.#queue.splice(0, this.#maxItems);
        this.sent.calls++;
        this.sent.items += batch.length;
        try {
          const out = await this.#send(batch.map((b) => b.item));
          batch.forEach((b, i) => b.resolve(out[i]!));
        } catch (err) {
          for (const b of batch) b.reject(err);
        }
      }
    } finally {
      this.#busy = false;
    }
  }
}
