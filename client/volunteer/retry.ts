import type { ColmeiaError } from "../api/errors.ts";
import { callError } from "./api.ts";
import { createBackoff, type BackoffOptions } from "./backoff.ts";
import { sleep } from "./sleep.ts";

/** Options of {@link retrying}. */
export interface RetryOptions {
  /** Backoff between attempts; default as for leases (500 ms doubling to 15 s). */
  backoff?: BackoffOptions;
  /** Attempts before giving up. Default 6. */
  attempts?: number;
  /** Checked before and after each wait: an error here ends the retries with it. */
  stop?: () => ColmeiaError | undefined;
}

/**
 * Calls `call` until it succeeds, waiting with backoff (or the `retry-after` asked for) after
 * each failure a later try may cure (network, 5xx, 429); any other failure rejects at once.
 * @example const bytes = await retrying(() => api.module(url), { attempts: 6 });
 */
export async function retrying<T>(call: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const backoff = createBackoff({ baseMs: 500, maxMs: 15_000, ...opts.backoff });
  const attempts = Math.max(1, opts.attempts ?? 6);
  for (;;) {
    try {
      return await call();
    } catch (err) {
      const error = callError(err);
      if (!error.retryable || backoff.attempts + 1 >= attempts) throw error;
      const before = opts.stop?.();
      if (before) throw before;
      await sleep(error.retryAfterMs ?? backoff.next());
      const after = opts.stop?.();
      if (after) throw after;
    }
  }
}
