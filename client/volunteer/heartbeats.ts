import { ColmeiaError } from "../api/errors.ts";
import type { VolunteerApi } from "./api.ts";
import { sleep } from "./sleep.ts";
import type { HeldLease } from "./types.ts";

/** Options of {@link runHeartbeats}. */
export interface HeartbeatOptions {
  api: Pick<VolunteerApi, "heartbeat">;
  /** The leases held right now (queued or computing). */
  held: () => Iterable<HeldLease>;
  /** The coordinator dropped this lease (404/409/410...): stop caring about it. */
  lost: (held: HeldLease, status: number) => void;
  /** How often to look for leases due a heartbeat, in ms. Default 1000. */
  tickMs?: number;
  now?: () => number;
}

/**
 * Keeps long shards' leases alive until `signal` aborts: a lease is extended once half its
 * lifetime has passed (so a single missed heartbeat is survivable). Network failures are
 * retried on the next tick.
 */
export async function runHeartbeats(opts: HeartbeatOptions, signal: AbortSignal): Promise<void> {
  const { api, now = Date.now } = opts;
  const inFlight = new Set<string>();
  const beat = async (held: HeldLease) => {
    const id = held.lease.id;
    inFlight.add(id);
    try {
      const { expiresAt } = await api.heartbeat(id);
      const at = now();
      held.renewedAt = at;
      held.ttlMs = Math.max(1000, expiresAt - at);
      held.lease.expiresAt = expiresAt;
    } catch (err) {
      if (err instanceof ColmeiaError && !err.retryable && !held.lost) {
        held.lost = true;
        opts.lost(held, err.status);
      }
    } finally {
      inFlight.delete(id);
    }
  };
  while (!signal.aborted) {
    const at = now();
    for (const held of opts.held()) {
      if (held.lost || inFlight.has(held.lease.id)) continue;
      if (at >= held.renewedAt + held.ttlMs / 2) void beat(held);
    }
    await sleep(opts.tickMs ?? 1000, signal);
  }
}
