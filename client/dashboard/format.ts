const whole = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const rate = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1, minimumFractionDigits: 1 });
const percent = new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 1 });
const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const day = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });

/** 12,345 */
export const count = (n: number): string => whole.format(n);

/** 12.3 (shards per second) */
export const perSecond = (n: number): string => (n > 0 && n < 0.05 ? "< 0.1" : rate.format(n));

/** 42.5 % of `total`; an empty job counts as complete. */
export const share = (part: number, total: number): string => percent.format(total > 0 ? part / total : 1);

/** A time of day for today, a short date otherwise. */
export function when(ms: number, now = Date.now()): string {
  return new Date(ms).toDateString() === new Date(now).toDateString() ? clock.format(ms) : day.format(ms);
}

/** 850 ms, 12 s, 3 min 20 s, 2 h 5 min */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
}
