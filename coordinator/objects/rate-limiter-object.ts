import { DurableObject } from "cloudflare:workers";

/** A token bucket per client key (one object per key, so limits never meet on one hot object). */
export class RateLimiterObject extends DurableObject<Env> {
  #tokens: number | undefined;
  #at = 0;

  /** Takes one token from a bucket of `capacity` refilled over `windowMs`; returns ms to wait, or 0. */
  async take(capacity: number, windowMs: number): Promise<number> {
    const now = Date.now();
    const rate = capacity / windowMs;
    const tokens = Math.min(capacity, (this.#tokens ?? capacity) + (now - this.#at) * rate);
    this.#at = now;
    if (tokens < 1) {
      this.#tokens = tokens;
      return Math.ceil((1 - tokens) / rate);
    }
    this.#tokens = tokens - 1;
    return 0;
  }
}
