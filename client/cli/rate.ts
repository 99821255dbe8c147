/**
 * Units (shards, bytes) per second over a sliding window of recent samples, so the rate (and the
 * ETA made from it) follows the current speed rather than the average since the start.
 */
export function createRateWindow(windowMs = 15_000, now: () => number = Date.now) {
  const samples: Array<{ t: number; done: number }> = [];
  return {
    /** Records that `done` shards were finished by now. */
    add(done: number) {
      const t = now();
      samples.push({ t, done });
      while (samples.length > 2 && samples[0]!.t < t - windowMs) samples.shift();
    },
    /** Shards per second across the window; 0 until two samples are apart in time. */
    perSecond(): number {
      const first = samples[0];
      const last = samples.at(-1);
      if (!first || !last) return 0;
      // Measure to now, not to the last sample, so a stalled grid shows a falling rate.
      const span = Math.max(now(), last.t) - first.t;
      return span > 0 ? ((last.done - first.done) * 1000) / span : 0;
    },
  };
}
