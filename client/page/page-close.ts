import { volunteerClient } from "../api/volunteer.ts";
import { wireResult } from "../volunteer/result-sender.ts";
import type { Identity, Lease, PendingResult, WireResult } from "../volunteer/types.ts";

/** Browsers cap the bodies of all in-flight keepalive requests together at 64 KiB. */
const KEEPALIVE_BUDGET = 60_000;

/**
 * Last words of a closing page, sent with `fetch(..., {keepalive: true})` (`sendBeacon` cannot
 * carry the Authorization header): releases the leases not yet computed so the grid re-issues
 * them at once, and makes one attempt at the unsent results (they also stay in IndexedDB and
 * go out on the next visit; a repeat is answered 409 and counted once).
 */
export function sendClosingRequests(identity: Identity, leases: Lease[], pending: PendingResult[], origin = location.origin) {
  const calls = volunteerClient({ url: origin, token: identity.token, retries: 0 });
  for (const lease of leases) calls.release(lease.id, { keepalive: true }).catch(() => {});
  const results: WireResult[] = [];
  let size = 20;
  for (const pendingResult of pending.slice(0, 64)) {
    const entry = wireResult(pendingResult);
    size += JSON.stringify(entry).length + 1;
    if (size > KEEPALIVE_BUDGET) break;
    results.push(entry);
  }
  if (results.length) calls.submitResults(results, { keepalive: true }).catch(() => {});
}
