import { ColmeiaError } from "../api/errors.ts";
import type { VolunteerApi } from "./api.ts";
import type { BackoffOptions } from "./backoff.ts";
import { retrying } from "./retry.ts";
import type { Lease } from "./types.ts";

/** Options of {@link createInputLoader}. */
export interface InputLoaderOptions {
  api: Pick<VolunteerApi, "input">;
  /** Backoff between download attempts; default as for leases (500 ms doubling to 15 s). */
  backoff?: BackoffOptions;
  /** Download attempts before the shard counts as unrunnable here. Default 6. */
  attempts?: number;
}

/** Statuses with which the coordinator says a lease is no longer ours: another's (403), unknown (404), gone (410). */
const LEASE_GONE = new Set([403, 404, 410]);

/** Whether a failed input download means the lease is gone (so its shard has no result to send). */
export const leaseGone = (error: ColmeiaError) => LEASE_GONE.has(error.status);

/**
 * Fetches dataset shards' bytes (`lease.inputUrl`) with the volunteer token: once per lease,
 * however often the shard's kernel runs, until {@link forget} drops them when the lease ends.
 * An unreachable coordinator is retried with backoff; any refusal rejects at once with the
 * coordinator's {@link ColmeiaError} (see {@link leaseGone}).
 * @example const bytes = await inputs.load(lease); ...; inputs.forget(lease.id);
 */
export function createInputLoader(opts: InputLoaderOptions) {
  const { api } = opts;
  const loaded = new Map<string, Promise<Uint8Array>>();

  const leaseLost = () => new ColmeiaError(410, "lease_lost", "the lease ended while its input was being fetched");
  const download = (url: string, held: () => boolean) =>
    retrying(() => api.input(url), { backoff: opts.backoff, attempts: opts.attempts, stop: () => (held() ? undefined : leaseLost()) });

  return {
    /** The bytes of `lease`'s shard; `held` says whether the lease still stands (retries stop once not). */
    load(lease: Lease, held: () => boolean = () => true): Promise<Uint8Array> {
      if (!lease.inputUrl) return Promise.reject(new Error(`lease ${lease.id} has no inputUrl`));
      let found = loaded.get(lease.id);
      if (!found) {
        found = download(lease.inputUrl, held);
        loaded.set(lease.id, found);
        // A failed download is not kept: a later attempt for the same lease tries again.
        found.catch(() => loaded.get(lease.id) === found && loaded.delete(lease.id));
      }
      return found;
    },
    /** Drops a lease's bytes (its shard is done, handed back or lost). */
    forget(leaseId: string): void {
      loaded.delete(leaseId);
    },
    /** Leases whose bytes are held or being fetched. */
    get size() {
      return loaded.size;
    },
  };
}

/** See {@link createInputLoader}. */
export type InputLoader = ReturnType<typeof createInputLoader>;
