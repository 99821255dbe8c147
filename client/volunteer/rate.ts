/** Counts events in a sliding time window and reports their rate per second. */
export interface RateMeter {
  /** Records `n` events at `at` (default now). */
  add(n?: number, at?: number): void;
  /**
   * Records a running total (bytes sent so far, shards done so far): the increase since the last
   * total counts as events. The first total only sets where counting starts (what a resumed
   * upload had sent, what was done when watching began).
   */
  addTotal(total: number, at?: number): void;
  /** Events per second over the window ending at `at` (default now). */
  perSecond(at?: number): number;
}

/**
 * Creates a RateMeter over the last `windowMs` (default 10 s). Before a full window has
 * passed since the first event, the rate is over the time elapsed so far.
 * @example const rate = createRateMeter(); rate.add(); rate.perSecond();
 */
export function createRateMeter(windowMs = 10_000, now: () => number = Date.now): RateMeter {
  const stamps: Array<[at: number, n: number]> = [];
  let first: number | undefined;
  let lastTotal: number | undefined;
  const prune = (at: number) => {
    while (stamps.length && stamps[0]![0] <= at - windowMs) stamps.shift();
  };
  const add = (n = 1, at = now()) => {
    first ??= at;
    stamps.push([at, n]);
    prune(at);
  };
  return {
    add,
    addTotal(total, at = now()) {
      // The rate is over the time since the baseline, not since the first increase.
      if (lastTotal === undefined) first ??= at;
      else add(total - lastTotal, at);
      lastTotal = total;
    },
    perSecond(at = now()) {
      prune(at);
      if (first === undefined) return 0;
      const span = Math.min(windowMs, Math.max(1000, at - first));
      let total = 0;
      for (const [, n] of stamps) total += n;
      return (total * 1000) / span;
    },
  };
}
