import {
  createKernelPool,
  createMemoryOutbox,
  createVolunteerApi,
  createVolunteerLoop,
  memoryIdentity,
  type Identity,
  type VolunteerEvent,
  type VolunteerLoop,
} from "../volunteer/index.ts";
import { nodeKernelWorker } from "./node-kernel-worker.ts";

/** Options of {@link startNodeVolunteer}. */
export interface NodeVolunteerOptions {
  /** Coordinator URL. */
  url: string;
  /** Worker threads, i.e. shards computed at once. */
  threads: number;
  /** Share of time each thread computes, in (0, 1]. */
  dutyCycle?: number;
  onEvent?: (event: VolunteerEvent) => void;
}

/** A running Node volunteer: one identity, `threads` worker threads. */
export interface NodeVolunteer {
  identity: Identity;
  loop: VolunteerLoop;
  /** Stops leasing, gives back queued leases, lets running shards finish and hands in their results. */
  stop(graceMs?: number): Promise<void>;
  /** Kills the threads at once and gives back every lease still held. */
  abandon(): Promise<void>;
}

/**
 * Registers a volunteer and starts computing on worker threads, with the scheduling core the
 * browser page uses (lease batching, batched results, heartbeats, backoff). Each call is a new
 * volunteer identity. Rejects when the coordinator cannot be reached to register.
 * @example
 * const v = await startNodeVolunteer({ url: "http://127.0.0.1:8787", threads: 4 });
 * process.once("SIGINT", () => v.stop());
 */
export async function startNodeVolunteer(options: NodeVolunteerOptions): Promise<NodeVolunteer> {
  const api = createVolunteerApi({ baseUrl: options.url, identity: memoryIdentity() });
  const identity = await api.identity();
  const pool = createKernelPool({ spawn: nodeKernelWorker, size: options.threads });
  const loop: VolunteerLoop = createVolunteerLoop({
    api,
    pool,
    outbox: createMemoryOutbox(),
    threads: options.threads,
    dutyCycle: options.dutyCycle,
    onEvent: (event) => {
      // Workaround: with slow shards (no prefetch) the loop's leaser sleeps until a queued lease
      // is taken, and a finished shard does not wake it, so the volunteer would stall after its
      // first batch. setThreads (same count) wakes the leaser. Harmless once the loop does it itself.
      if (event.type === "computed" || event.type === "kernel-error") queueMicrotask(() => loop.setThreads(options.threads));
      options.onEvent?.(event);
    },
  });
  loop.start();

  const releaseHeld = () => Promise.allSettled(loop.heldLeases().map((lease) => api.release(lease.id)));
  let stopping: Promise<void> | undefined;
  const stop = (graceMs = 5000) =>
    (stopping ??= (async () => {
      await loop.stop(graceMs);
      await releaseHeld();
      pool.close();
    })());
  return {
    identity,
    loop,
    stop,
    async abandon() {
      const held = loop.heldLeases();
      // Closing the pool makes every computation in flight fail; the loop releases those leases too.
      pool.close();
      await Promise.allSettled(held.map((lease) => api.release(lease.id)));
      await Promise.race([stop(0), new Promise((r) => setTimeout(r, 2000))]);
    },
  };
}
