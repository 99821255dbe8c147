/** Options of {@link createBackoff}. */
export interface BackoffOptions {
  /** First delay's ceiling, in ms. Default 500. */
  baseMs?: number;
  /** Largest delay, in ms. Default 30 000. */
  maxMs?: number;
  /** Growth per attempt. Default 2. */
  factor?: number;
  /** Source of randomness in [0, 1); injectable for tests. */
  random?: () => number;
}

/** Delays that grow exponentially with jitter, reset after a success. */
export interface Backoff {
  /** The next delay in ms (and counts an attempt). */
  next(): number;
  /** Back to the first delay. */
  reset(): void;
  /** Failed attempts since the last reset. */
  readonly attempts: number;
}

/**
 * Exponential backoff with "equal jitter": the n-th delay is uniformly random in
 * [cap/2, cap) where cap = min(maxMs, baseMs * factor^n). Jitter keeps a crowd of volunteers
 * from hammering a coordinator that just came back, in lockstep.
 * @example const b = createBackoff({ baseMs: 250, maxMs: 10_000 }); await sleep(b.next());
 */
export function createBackoff(opts: BackoffOptions = {}): Backoff {
  const { baseMs = 500, maxMs = 30_000, factor = 2, random = Math.random } = opts;
  let attempts = 0;
  return {
    next() {
      const cap = Math.min(maxMs, baseMs * factor ** attempts);
      attempts++;
      return cap / 2 + random() * (cap / 2);
    },
    reset() {
      attempts = 0;
    },
    get attempts() {
      return attempts;
    },
  };
}
