import type { ControlValues } from "./controls.ts";
import type { StoredSettings } from "./store.ts";

/** Most threads the page will start, whatever the URL asks. */
export const MAX_THREADS = 64;

/** Settings for this visit: the URL wins, then what was saved, then defaults. */
export interface PageSettings extends ControlValues {
  autostart: boolean;
  /** Per-shard time limit, ms (`?shardTimeoutMs=`; default 2 minutes). */
  shardTimeoutMs: number;
}

const intIn = (raw: string | null, lo: number, hi: number) => {
  const n = raw === null || raw.trim() === "" ? NaN : Math.floor(Number(raw));
  return Number.isFinite(n) ? Math.min(hi, Math.max(lo, n)) : undefined;
};

/** Default thread count: hardware threads minus one (leave one for the volunteer), at least one. */
export function defaultThreads(cores = deviceCores()): number {
  return Math.max(1, cores - 1);
}

/** The device's logical cores (2 when the browser does not say). */
function deviceCores(cores?: number): number {
  return cores ?? (globalThis.navigator?.hardwareConcurrency || 2);
}

/**
 * Reads `?autostart=1&threads=N` (README, "Volunteering from a browser") plus `throttle` (CPU %, 10-100) and
 * `shardTimeoutMs` from the query string, falling back on saved settings and defaults.
 * @example parseSettings("?autostart=1&threads=2", {}) // { autostart: true, threads: 2, ... }
 */
export function parseSettings(search: string, stored: StoredSettings, cores?: number): PageSettings {
  const q = new URLSearchParams(search);
  const throttle = intIn(q.get("throttle"), 10, 100);
  return {
    autostart: ["1", "true", "yes"].includes(q.get("autostart") ?? ""),
    // A link may ask for threads, never more than this device has cores: a page opened from
    // anywhere cannot make a visitor's machine run more than it was built for.
    threads:
      (q.has("threads") ? intIn(q.get("threads"), 1, Math.min(MAX_THREADS, deviceCores(cores))) : intIn(String(stored.threads ?? ""), 1, MAX_THREADS)) ??
      defaultThreads(cores),
    dutyCycle: throttle !== undefined ? throttle / 100 : (stored.dutyCycle ?? 1),
    onlyVisible: stored.onlyVisible ?? false,
    shardTimeoutMs: intIn(q.get("shardTimeoutMs"), 100, 24 * 3600 * 1000) ?? 120_000,
  };
}
