import { DurableObject } from "cloudflare:workers";

/**
 * A token bucket per client key: one object per key, so limits never meet on one hot object. It
 * is the authority across isolates; coordinator/rate-limit.ts keeps a cheap share of it in each
 * isolate. State lives in memory only: an evicted bucket starts full, which errs on the client's side.
 */
export class RateLimiterObject extends DurableObject<Env> {
  #tokens: number | undefined;
  #at = 0;

  /** Takes one token from a bucket of `capacity` refilled over `windowMs`; returns ms to wait, or 0. */
  async take(capacity: number, windowMs: number): Promise<number> {
    return (await this.takeUpTo(capacity, windowMs, 1)).waitMs;
  }

  /**
   * Takes up to `want` whole tokens at once (an isolate's share). Nothing granted: `waitMs` says
   * when one token will be there.
   */
  async takeUpTo(capacity: number, windowMs: number, want: number): Promise<{ granted: number; waitMs: number }> {
    const now = Date.now();
    const rate = capacity / windowMs;
    const tokens = Math.min(capacity, (this.#tokens ?? capacity) + (now - this.#at) * rate);
    this.#at = now;
    const granted = Math.max(0, Math.min(Math.floor(want), Math.floor(tokens)));
    this.#tokens = tokens - granted;
    return { granted, waitMs: granted ? 0 : Math.ceil((1 - tokens) / rate) };
  }
}
